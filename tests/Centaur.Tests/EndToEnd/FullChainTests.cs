using System.Net.Http.Json;
using Centaur.Slack.Replies;
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

    private async Task<string> MentionAndWaitForAnswerAsync(string channel, string ts, string text)
    {
        using var slack = fixture.App.CreateHttpClient("slack");
        using var request = SignedSlackRequest.Event(SlackPayloads.Callback(SlackPayloads.AppMention(channel, ts, text)));
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
