using System.Net.Http.Json;
using Centaur.Slack.Replies;
using Centaur.Tests.Fakes.FakeOtlpCollector;
using Centaur.Tests.Fakes.FakeSlack;
using Centaur.Tests.Slack;

namespace Centaur.Tests.EndToEnd;

/// <summary>
/// Invariants together, on the real parts: a signed Slack mention → Centaur.Slack → Centaur.Api → a bubblewrap
/// sandbox running the real harness CLI → its LLM calls through Centaur.IronProxy (TLS intercepted, placeholder
/// swapped) → the vendor, which receives the real key → the answer in the Slack thread. The sandbox never holds the key.
/// </summary>
[Collection(FullChainCollection.Name)]
public sealed class FullChainTests(FullChainFixture fixture)
{
    private static readonly TimeSpan s_answerTimeout = TimeSpan.FromSeconds(120);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AMentionIsAnsweredByClaudeCodeWhoseCallsCarryTheRealKeyOnlyPastTheProxy()
    {
        var (channel, ts) = (SlackPayloads.NewChannel(), SlackPayloads.NewTs());
        var threadKey = $"slack:{channel}:{ts}";

        var reply = await MentionAndWaitForAnswerAsync(channel, ts, "what is the build status?");

        Assert.StartsWith("Echo: ", reply, StringComparison.Ordinal);
        Assert.Contains("what is the build status?", reply, StringComparison.Ordinal);
        var calls = fixture.Llm.Requests.Where(r => r.Api == "anthropic" && r.UserText.Contains("what is the build status?", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(calls);
        Assert.All(calls, c => Assert.Equal(FullChainFixture.AnthropicKey, c.Headers.GetValueOrDefault("x-api-key") ?? c.Headers["authorization"].Replace("Bearer ", "", StringComparison.Ordinal)));
        await AssertProxyAuditedAsync(threadKey, "api.anthropic.com");
        AssertNoSecretInSandboxFiles();
    }

    [Fact]
    public async Task AThreadSpawnedForCodexIsAnsweredByCodexThroughTheSameChain()
    {
        var (channel, ts) = (SlackPayloads.NewChannel(), SlackPayloads.NewTs());
        var threadKey = $"slack:{channel}:{ts}";
        // An operator (or the CLI) picks the harness for a thread; the mention then continues that thread.
        using (var api = fixture.AdminClient())
        using (var spawn = await api.PostAsJsonAsync("/agent/spawn", new { thread_key = threadKey, harness = "codex" }, Ct))
        {
            spawn.EnsureSuccessStatusCode();
        }

        var reply = await MentionAndWaitForAnswerAsync(channel, ts, "summarise the open incidents");

        Assert.StartsWith("Echo: ", reply, StringComparison.Ordinal);
        Assert.Contains("summarise the open incidents", reply, StringComparison.Ordinal);
        var calls = fixture.Llm.Requests.Where(r => r.Api != "anthropic" && r.UserText.Contains("summarise the open incidents", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(calls);
        Assert.All(calls, c => Assert.Equal($"Bearer {FullChainFixture.OpenAiKey}", c.Headers["authorization"]));
        await AssertProxyAuditedAsync(threadKey, "api.openai.com");
        AssertNoSecretInSandboxFiles();
    }

    [Fact]
    public async Task OneTraceRunsFromTheSlackEventThroughTheApiAndTheTurnToTheProxysCall()
    {
        var (channel, ts, eventId) = (SlackPayloads.NewChannel(), SlackPayloads.NewTs(), SlackPayloads.NewEventId());

        await MentionAndWaitForAnswerAsync(channel, ts, "trace this turn", eventId);

        // Slack event (adapter) → POST /agent/… (adapter's client span → API server span) → execution (worker) →
        // egress span in the proxy for the sandbox's call to the vendor.
        // Spans arrive as each service flushes; the chain is complete once it climbs from the egress span to the Slack
        // webhook's server span. That span's parent is usually none, but the test's own POST carries a traceparent
        // whenever another test runs an in-process host with tracing at that moment, so the climb stops at the first
        // parent the collector never saw rather than at an empty parent id.
        IReadOnlyList<ExportedSpan> spans = [];
        List<ExportedSpan> chain = [];
        try
        {
            await FakeSlackServer.WaitUntilAsync(() =>
            {
                spans = fixture.Telemetry.Spans;
                chain = ChainUp(spans, eventId);
                return chain.Count > 1 && (chain[^1].Service, chain[^1].Name) == ("slack", "POST /slack/events");
            }, TimeSpan.FromSeconds(60), "the spans of the turn reach the collector");
        }
        catch (TimeoutException e)
        {
            var trace = spans.FirstOrDefault(s => s.Attributes.GetValueOrDefault("centaur.slack.delivery_id") == eventId)?.TraceId;
            throw new TimeoutException($"{e.Message}: chain {string.Join(" → ", chain.AsEnumerable().Reverse())}; the event's trace: "
                + string.Join(" | ", spans.Where(s => s.TraceId == trace)) + $"; egress spans: {string.Join(" | ", spans.Where(s => s.Service == "ironproxy"))}", e);
        }

        var path = string.Join(" → ", chain.AsEnumerable().Reverse());
        Assert.Equal("ironproxy", chain[0].Service);
        Assert.Equal(("api", "execution"), (chain[1].Service, chain[1].Name));
        Assert.Contains(chain, s => s.Service == "api" && s.Attributes.GetValueOrDefault("http.route") == "/agent/execute");
        Assert.True(chain.Any(s => s.Service == "slack" && s.Attributes.GetValueOrDefault("centaur.slack.delivery_id") == eventId), $"the Slack event's handling is in the chain: {path}");
        Assert.Equal(("slack", "POST /slack/events"), (chain[^1].Service, chain[^1].Name));
        Assert.DoesNotContain(spans, s => s.Attributes.Values.Any(v => FullChainFixture.Secrets.Any(secret => v.Contains(secret, StringComparison.Ordinal))));
    }

    [Fact]
    public async Task OperatorsGetTheMetricsOfEveryServiceThroughOpenTelemetry()
    {
        await MentionAndWaitForAnswerAsync(SlackPayloads.NewChannel(), SlackPayloads.NewTs(), "count this turn");

        (string, string)[] expected =
        [
            ("api", "centaur.executions"), ("api", "centaur.turn.duration"), ("api", "centaur.turn.time_to_first_token"),
            ("api", "centaur.sandboxes"), ("api", "centaur.sandbox.warm_pool"),
            ("ironproxy", "centaur.proxy.requests"), ("ironproxy", "centaur.proxy.request.duration"), ("ironproxy", "centaur.proxy.credentials_injected"),
            ("slack", "centaur.slack.deliveries_received"), ("slack", "centaur.slack.answers_delivered"),
        ];
        try
        {
            await FakeSlackServer.WaitUntilAsync(() => expected.All(fixture.Telemetry.Metrics.Contains), TimeSpan.FromSeconds(30), "every service exports its metrics");
        }
        catch (TimeoutException)
        {
            // The assertion below names what is missing.
        }

        Assert.Empty(expected.Except(fixture.Telemetry.Metrics));
    }

    /// <summary>The proxy's span for the vendor call in the Slack event's trace, then its parents as far as they were exported.</summary>
    private static List<ExportedSpan> ChainUp(IReadOnlyList<ExportedSpan> spans, string eventId)
    {
        var delivery = spans.FirstOrDefault(s => s.Attributes.GetValueOrDefault("centaur.slack.delivery_id") == eventId);
        var egress = delivery is null ? null : spans.FirstOrDefault(s => s.TraceId == delivery.TraceId && s.Service == "ironproxy" && s.Name == "egress api.anthropic.com");
        if (egress is null)
        {
            return [];
        }

        var byId = spans.Where(s => s.TraceId == egress.TraceId).GroupBy(s => s.SpanId).ToDictionary(g => g.Key, g => g.First());
        List<ExportedSpan> chain = [egress];
        while (byId.TryGetValue(chain[^1].ParentSpanId, out var parent) && chain.Count < 50)
        {
            chain.Add(parent);
        }

        return chain;
    }

    private async Task<string> MentionAndWaitForAnswerAsync(string channel, string ts, string text, string? eventId = null)
    {
        using var slack = fixture.App.CreateHttpClient("slack");
        using var request = SignedSlackRequest.Event(SlackPayloads.Callback(SlackPayloads.AppMention(channel, ts, text), eventId));
        using var response = await slack.SendAsync(request, Ct);
        response.EnsureSuccessStatusCode();

        FakeSlackMessage? answer = null;
        try
        {
            await FakeSlackServer.WaitUntilAsync(
                () => (answer = fixture.Slack.Thread(channel, ts).FirstOrDefault(m => m.BotId is not null && !m.HasButton(ReplyPoster.StopAction) && m.Shown.Length > 0)) is not null,
                s_answerTimeout, "the answer is posted in the thread and its Stop button is gone");
        }
        catch (TimeoutException e)
        {
            var shown = string.Join(" | ", fixture.Slack.Thread(channel, ts).Select(m => m.Shown));
            var calls = string.Join("\n", fixture.Slack.Calls.Select(c => $"{c.Method} {c.Args.ToJsonString()}"));
            throw new TimeoutException($"{e.Message}\nthread: {shown}\nSlack calls:\n{calls}\nservices:\n{fixture.RecentLogs()}", e);
        }
        Assert.Single(fixture.Slack.Thread(channel, ts), m => m.BotId is not null);
        Assert.All(fixture.Slack.Calls, c => Assert.Equal(FullChainFixture.BotToken, c.Token));
        return answer!.Shown;
    }

    private async Task AssertProxyAuditedAsync(string threadKey, string host)
    {
        await using var command = fixture.Db.CreateCommand("SELECT count(*) FROM egress_audit WHERE thread_key = @thread AND host = @host AND status = 200");
        command.Parameters.AddWithValue("thread", threadKey);
        command.Parameters.AddWithValue("host", host);
        var audited = 0L;
        await FakeSlackServer.WaitUntilAsync(() => (audited = (long)command.ExecuteScalar()!) > 0, TimeSpan.FromSeconds(15), "the proxy's audit names the thread");
        Assert.True(audited > 0);
    }

    /// <summary>No thread's sandbox home (harness config, sessions, workspace) ever saw a real key.</summary>
    private void AssertNoSecretInSandboxFiles()
    {
        var homes = Path.Combine(fixture.StateDirectory, "sandboxes", "threads");
        var files = Directory.EnumerateFiles(homes, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = true })
            .Where(f => new FileInfo(f).Length < 10_000_000)
            .ToList();
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            string content;
            try
            {
                content = File.ReadAllText(file);
            }
            catch (IOException)
            {
                // A lock file the harness holds exclusively (.codex/thread-writer-locks): empty by design.
                continue;
            }

            Assert.DoesNotContain(FullChainFixture.AnthropicKey, content, StringComparison.Ordinal);
            Assert.DoesNotContain(FullChainFixture.OpenAiKey, content, StringComparison.Ordinal);
        }
    }
}
