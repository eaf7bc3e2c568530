using System.Text.Json.Nodes;
using Centaur.Tests.ControlPlane;
using Centaur.Tests.Infrastructure;

namespace Centaur.Tests.Clients;

[Collection(AppCollection.Name)]
public sealed class CliTests(CentaurAppFixture fixture)
{
    private static readonly TimeSpan s_turnTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task ChatDrivesTurnsAndPrintsTheStreamedAnswers()
    {
        var api = await fixture.SharedApiAsync();
        var thread = AgentClient.NewThreadKey("cli");
        await using var cli = CliProcess.Start(api, ApiProcess.AgentKey, "chat", "--thread", thread);

        await cli.TypeAsync("why are the **billing** tests failing? \\");
        await cli.TypeAsync("[fake] deltas=5");
        await cli.WaitForAsync(c => c.Stdout.Contains("✓ succeeded", StringComparison.Ordinal), s_turnTimeout, "the first answer");
        await cli.TypeAsync("and `now`?");
        cli.CloseInput();
        var exit = await cli.WaitForExitAsync(s_turnTimeout);

        Assert.Equal(0, exit);
        Assert.Contains($"centaur · thread {thread}", cli.Stderr, StringComparison.Ordinal);
        // Markdown is rendered: the bold markers are gone (NO_COLOR: no styles either), code keeps its backticks.
        Assert.Contains("turn 1: why are the billing tests failing?", cli.StdoutLines);
        Assert.Contains("turn 2: and `now`?", cli.StdoutLines);
        Assert.Equal(2, cli.StdoutLines.Count(l => l.StartsWith("✓ succeeded in ", StringComparison.Ordinal)));
        Assert.Contains(cli.StdoutLines, l => l.StartsWith("✓ succeeded in ", StringComparison.Ordinal) && l.Contains(" out tokens", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ChatRendersMarkdownWithStylesOnATerminal()
    {
        var api = await fixture.SharedApiAsync();
        await using var cli = CliProcess.Start(api, ApiProcess.AgentKey, "chat", "--color", "always");

        await cli.TypeAsync("# Plan \\");
        await cli.TypeAsync("- **first** `step`");
        cli.CloseInput();
        var exit = await cli.WaitForExitAsync(s_turnTimeout);

        Assert.Equal(0, exit);
        Assert.Contains("\e[1mfirst", cli.Stdout, StringComparison.Ordinal);
        Assert.Contains("\e[36mstep", cli.Stdout, StringComparison.Ordinal);
        Assert.Contains("\e[36m•\e[0m ", cli.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("**", cli.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"centaur · thread cli:alice-\d{8}-\d{6}-[0-9a-f]{4}", cli.Stderr);
    }

    [Fact]
    public async Task ADroppedConnectionResumesAfterTheLastEventWithoutDuplicates()
    {
        await using var api = await fixture.StartApiProcessAsync();
        var thread = AgentClient.NewThreadKey("cli");
        await using var chat = CliProcess.Start(api, ApiProcess.AgentKey, "chat", "--thread", thread, "--format", "jsonl");
        await chat.TypeAsync("long answer \\");
        await chat.TypeAsync("[fake] deltas=60 delay_ms=150");
        chat.CloseInput();
        await chat.WaitForAsync(c => Events(c).Count(e => e.Type == "assistant_delta") >= 3, s_turnTimeout, "the first deltas");
        await using var watcher = CliProcess.Start(api, ApiProcess.AgentKey, "events", thread);
        await watcher.WaitForAsync(c => c.StdoutLines.Contains("· running"), s_turnTimeout, "the watcher to see the turn run");

        Assert.DoesNotContain(Events(chat), e => e.State is not (null or "queued" or "running"));
        api.Kill();
        await api.StartAsync(CancellationToken.None);
        var chatExit = await chat.WaitForExitAsync(s_turnTimeout);
        var watcherExit = await watcher.WaitForExitAsync(s_turnTimeout);

        var events = Events(chat);
        Assert.Equal(0, chatExit);
        Assert.Contains("connection lost", chat.Stderr, StringComparison.Ordinal);
        Assert.Contains("reconnected; resuming after event", chat.Stderr, StringComparison.Ordinal);
        Assert.Equal(events.Select(e => e.Id).Distinct().Count(), events.Count);
        Assert.Equal(events.Select(e => e.Id).Order(), events.Select(e => e.Id));
        var terminal = Assert.Single(events, e => e.State is "succeeded" or "failed" or "cancelled" or "interrupted");
        Assert.Equal("succeeded", terminal.State);
        Assert.Equal("turn 1: long answer", terminal.Data["result"]!.GetValue<string>());
        // What the API stored is exactly what the CLI saw after the queued event: nothing lost, nothing twice.
        var stored = await EventStreamReader.ReadAsync(api.CreateClient(), thread, executionId: terminal.ExecutionId);
        Assert.Equal(stored.Select(e => e.Id), events.Select(e => e.Id));

        Assert.Equal(0, watcherExit);
        Assert.Contains("connection lost", watcher.Stderr, StringComparison.Ordinal);
        Assert.Single(watcher.StdoutLines, l => l.StartsWith("✓ succeeded", StringComparison.Ordinal));
        Assert.Contains("turn 1: long answer", watcher.StdoutLines);
    }

    [Fact]
    public async Task CtrlCCancelsTheRunningTurnAndTheChatGoesOn()
    {
        var api = await fixture.SharedApiAsync();
        var thread = AgentClient.NewThreadKey("cli");
        await using var cli = CliProcess.Start(api, ApiProcess.AgentKey, "chat", "--thread", thread);
        await cli.TypeAsync("take your time \\");
        await cli.TypeAsync("[fake] hang=true");
        var agent = new AgentClient(api.CreateClient());
        await WaitUntilAsync(async () => (await ThreadAsync(agent, thread))?["executions"]?.AsArray()
            .Any(e => e!["state"]!.GetValue<string>() == "running") == true, "the turn to run");

        await cli.InterruptAsync();
        await cli.WaitForAsync(c => c.Stdout.Contains("⊘ cancelled", StringComparison.Ordinal), s_turnTimeout, "the cancelled outcome");
        await cli.TypeAsync("are you still there?");
        cli.CloseInput();
        var exit = await cli.WaitForExitAsync(s_turnTimeout);

        Assert.Equal(0, exit);
        Assert.Contains("cancel requested for execution", cli.Stderr, StringComparison.Ordinal);
        Assert.Contains(cli.StdoutLines, l => l.StartsWith("turn ", StringComparison.Ordinal) && l.EndsWith(": are you still there?", StringComparison.Ordinal));
        var states = (await ThreadAsync(agent, thread))!["executions"]!.AsArray().Select(e => e!["state"]!.GetValue<string>()).Order();
        Assert.Equal(["cancelled", "succeeded"], states);
    }

    [Fact]
    public async Task ThreadsEventsKeysAndAuditWorkWithAKeyTheCliCreated()
    {
        var api = await fixture.SharedApiAsync();
        var name = $"cli-test-{Guid.NewGuid():N}"[..30];
        await using var create = CliProcess.Start(api, ApiProcess.AdminKey, "keys", "create", name, "--scopes", "agent");
        Assert.Equal(0, await create.WaitForExitAsync(s_turnTimeout));
        var key = Assert.Single(create.StdoutLines);
        Assert.StartsWith("ck_", key, StringComparison.Ordinal);

        var thread = AgentClient.NewThreadKey("cli");
        await using (var chat = CliProcess.Start(api, key, "chat", "--thread", thread))
        {
            await chat.TypeAsync("list me");
            chat.CloseInput();
            Assert.Equal(0, await chat.WaitForExitAsync(s_turnTimeout));
        }

        // What IronProxy writes for the thread's sandbox: one request with a credential injected, one refused.
        await EgressAuditRows.InsertAsync(api.ConnectionString, thread);

        await using var threads = CliProcess.Start(api, key, "threads", "--source", "cli");
        await using var events = CliProcess.Start(api, key, "events", thread);
        await using var audit = CliProcess.Start(api, ApiProcess.AdminKey, "audit", thread);
        await using var auditWithoutAdmin = CliProcess.Start(api, key, "audit", thread);
        await using var forbidden = CliProcess.Start(api, key, "keys", "create", "not-allowed");
        await using var noKey = CliProcess.Start(api, "", "threads");

        Assert.Equal(0, await threads.WaitForExitAsync(s_turnTimeout));
        Assert.StartsWith("THREAD", threads.StdoutLines[0], StringComparison.Ordinal);
        Assert.Contains(threads.StdoutLines, l => l.StartsWith(thread, StringComparison.Ordinal) && l.Contains("succeeded", StringComparison.Ordinal));
        Assert.Equal(0, await events.WaitForExitAsync(s_turnTimeout));
        Assert.Contains("turn 1: list me", events.StdoutLines);
        Assert.Contains(events.StdoutLines, l => l.StartsWith("── execution ", StringComparison.Ordinal));
        Assert.Equal(0, await audit.WaitForExitAsync(s_turnTimeout));
        Assert.StartsWith("TIME", audit.StdoutLines[0], StringComparison.Ordinal);
        Assert.Matches(@"POST\s+api\.anthropic\.com\s+/v1/messages\s+200\s+allow\s+anthropic\s+2k/12k", audit.StdoutLines[1]);
        Assert.Matches(@"GET\s+evil\.example:8443\s+/\s+403\s+deny \(host not allowed\)\s+-", audit.StdoutLines[2]);
        Assert.Contains("2 request(s)", audit.Stderr, StringComparison.Ordinal);
        Assert.Equal(1, await auditWithoutAdmin.WaitForExitAsync(s_turnTimeout));
        Assert.Contains("lacks the scope", auditWithoutAdmin.Stderr, StringComparison.Ordinal);
        Assert.Equal(1, await forbidden.WaitForExitAsync(s_turnTimeout));
        Assert.Contains("lacks the scope", forbidden.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, await noKey.WaitForExitAsync(s_turnTimeout));
        Assert.Contains("no API key", noKey.Stderr, StringComparison.Ordinal);
    }

    private sealed record CliEvent(long Id, long ExecutionId, string Type, JsonObject Data)
    {
        public string? State => Type == "execution_state" ? Data["state"]?.GetValue<string>() : null;
    }

    private static List<CliEvent> Events(CliProcess cli) =>
        [.. cli.StdoutLines.Select(l => JsonNode.Parse(l)!.AsObject()).Select(o => new CliEvent(
            o["event_id"]!.GetValue<long>(), o["execution_id"]!.GetValue<long>(), o["type"]!.GetValue<string>(), o["data"]!.AsObject()))];

    private static async Task<JsonObject?> ThreadAsync(AgentClient agent, string thread)
    {
        using var response = await agent.Http.GetAsync($"/agent/threads/{Uri.EscapeDataString(thread)}");
        return response.IsSuccessStatusCode ? JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject() : null;
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        using var cts = new CancellationTokenSource(s_turnTimeout);
        while (!await condition())
        {
            await Task.Delay(100, cts.Token).ContinueWith(t => Assert.False(t.IsCanceled, $"timed out waiting for {what}"));
        }
    }
}
