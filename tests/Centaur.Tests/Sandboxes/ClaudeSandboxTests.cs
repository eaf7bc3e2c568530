using System.Text.Json.Nodes;

namespace Centaur.Tests.Sandboxes;

/// <summary>A real Claude Code CLI in a real bubblewrap sandbox, talking to the fake Anthropic API through the egress socket.</summary>
[Collection(SandboxCollection.Name)]
public sealed class ClaudeSandboxTests : IAsyncLifetime
{
    private readonly SandboxFixture _fixture;
    private readonly List<string> _sandboxes = [];

    public ClaudeSandboxTests(SandboxFixture fixture)
    {
        _fixture = fixture;
        fixture.Llm.Reset();
    }

    [Fact]
    public async Task ClaudeAnswersATurnInsideABubblewrapSandbox()
    {
        var (_, wire) = await StartAsync(SandboxFixture.NewThread("claude-hello"));

        var turn = await SandboxFixture.TurnAsync(wire, 1, "hello from the test");

        Assert.True(turn.Succeeded, turn.ToString());
        Assert.Equal("Echo: hello from the test (msgs=2)", turn.ResultText);
        Assert.Contains(turn.OfType("assistant"), l => l.ToJsonString().Contains("Echo: hello from the test", StringComparison.Ordinal));
        Assert.NotEmpty(turn.OfType("stream_event"));
        Assert.Equal("Echo: hello from the test (msgs=2)", turn.TurnDone!["result"]!.GetValue<string>());
        var request = Assert.Single(_fixture.Llm.Requests);
        Assert.Equal("centaur-placeholder:anthropic-api-key", request.Headers["x-api-key"]);
    }

    [Fact]
    public async Task ASecondTurnInTheSameThreadSeesTheFirst()
    {
        var (_, wire) = await StartAsync(SandboxFixture.NewThread("claude-multi"));

        var first = await SandboxFixture.TurnAsync(wire, 1, "remember the word banana");
        var second = await SandboxFixture.TurnAsync(wire, 2, "which fruit did I name?");

        Assert.True(first.Succeeded, first.ToString());
        Assert.True(second.Succeeded, second.ToString());
        Assert.Equal("Echo: which fruit did I name? (msgs=4)", second.ResultText);
        var last = _fixture.Llm.Requests[^1];
        Assert.Contains("remember the word banana", last.Body.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ABashToolCallRunsInsideTheSandboxAndItsOutputReachesTheModel()
    {
        var thread = SandboxFixture.NewThread("claude-bash");
        var (_, wire) = await StartAsync(thread);

        var turn = await SandboxFixture.TurnAsync(wire, 1, "TOOL: id -u && hostname && pwd && echo made-by-agent > proof.txt && git branch --show-current");

        Assert.True(turn.Succeeded, turn.ToString());
        var toolUse = turn.OfType("assistant").SelectMany(l => l["message"]!["content"]!.AsArray()).OfType<JsonObject>().Single(b => b["type"]!.GetValue<string>() == "tool_use");
        Assert.Equal("Bash", toolUse["name"]!.GetValue<string>());
        var output = _fixture.Llm.Requests[^1].ToolOutput;
        Assert.NotNull(output);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("1000", lines[0]);
        Assert.StartsWith("sbx-", lines[1], StringComparison.Ordinal);
        Assert.Equal("/home/agent/workspace", lines[2]);
        Assert.StartsWith("centaur/", lines[3], StringComparison.Ordinal);
        Assert.StartsWith("Tool result was: 1000", turn.ResultText, StringComparison.Ordinal);
        Assert.Equal("made-by-agent\n", await File.ReadAllTextAsync(Path.Combine(_fixture.Backend.ThreadHome(thread), "workspace", "proof.txt"), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task ARestartedSandboxResumesTheClaudeSessionFromTheThreadsHome()
    {
        var thread = SandboxFixture.NewThread("claude-resume");
        var (first, wire) = await StartAsync(thread);
        Assert.True((await SandboxFixture.TurnAsync(wire, 1, "the secret word is kiwi")).Succeeded);
        await _fixture.Backend.StopAsync(first.SandboxId, TestContext.Current.CancellationToken);

        var (second, wire2) = await StartAsync(thread);
        var turn = await SandboxFixture.TurnAsync(wire2, 2, "what was the secret word?");

        Assert.NotEqual(first.SandboxId, second.SandboxId);
        Assert.True(turn.Succeeded, turn.ToString());
        Assert.Equal("Echo: what was the secret word? (msgs=4)", turn.ResultText);
        Assert.Contains("the secret word is kiwi", _fixture.Llm.Requests[^1].Body.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal(first.HarnessSessionId ?? second.HarnessSessionId, second.HarnessSessionId);
    }

    [Fact]
    public async Task CancellingATurnStopsItWithAnErrorResultAndTheNextTurnWorks()
    {
        var (_, wire) = await StartAsync(SandboxFixture.NewThread("claude-cancel"));
        _fixture.Llm.Enqueue(new Fakes.FakeLlm.FakeReply("too late", null, TimeSpan.FromSeconds(30)));
        using var cts = new CancellationTokenSource(SandboxFixture.TurnTimeout);

        await wire.SendAsync(new JsonObject { ["type"] = "turn.start", ["turn_id"] = 1, ["text"] = "a slow question" }, cts.Token);
        await WaitUntilAsync(() => _fixture.Llm.Requests.Count > 0, TimeSpan.FromSeconds(30));
        var started = DateTimeOffset.UtcNow;
        await wire.SendAsync(new JsonObject { ["type"] = "turn.cancel", ["turn_id"] = 1 }, cts.Token);
        var cancelled = await SandboxFixture.ReadTurnAsync(wire, 1, cts.Token);
        var elapsed = DateTimeOffset.UtcNow - started;
        var next = await SandboxFixture.TurnAsync(wire, 2, "are you still there?");

        Assert.True(cancelled.Done, cancelled.ToString());
        Assert.Equal("error", cancelled.Result!["subtype"]!.GetValue<string>());
        Assert.True(elapsed < TimeSpan.FromSeconds(15), $"cancel took {elapsed}");
        Assert.True(next.Succeeded, next.ToString());
    }

    [Fact]
    public async Task AnImageGoesInlineAndOtherFilesArriveAsPathsInsideTheSandbox()
    {
        var (_, wire) = await StartAsync(SandboxFixture.NewThread("claude-attachments"));
        // A 1x1 PNG.
        const string Png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg==";
        using var cts = new CancellationTokenSource(SandboxFixture.TurnTimeout);

        await wire.SendAsync(new JsonObject
        {
            ["type"] = "turn.start",
            ["turn_id"] = 1,
            ["text"] = "look at these",
            ["attachments"] = new JsonArray(
                new JsonObject { ["name"] = "dot.png", ["media_type"] = "image/png", ["data"] = Png },
                new JsonObject { ["name"] = "notes.txt", ["text"] = "line one\n" },
                new JsonObject { ["name"] = "remote.pdf", ["mime_type"] = "application/pdf", ["url"] = "https://files.example/remote.pdf" }),
        }, cts.Token);
        var turn = await SandboxFixture.ReadTurnAsync(wire, 1, cts.Token);

        Assert.True(turn.Succeeded, turn.ToString());
        var body = _fixture.Llm.Requests[^1].Body.ToJsonString();
        Assert.Contains("\"type\":\"image\"", body, StringComparison.Ordinal);
        Assert.Contains(Png, body, StringComparison.Ordinal);
        Assert.Contains("/home/agent/attachments/", body, StringComparison.Ordinal);
        Assert.Contains("notes.txt (text/plain)", body, StringComparison.Ordinal);
        Assert.Contains("https://files.example/remote.pdf (not downloaded)", body, StringComparison.Ordinal);
        var notes = Directory.GetFiles(Path.Combine(_fixture.Backend.ThreadHome(_lastThread!), "attachments"), "notes.txt", SearchOption.AllDirectories);
        Assert.Equal("line one\n", await File.ReadAllTextAsync(Assert.Single(notes), TestContext.Current.CancellationToken));
    }

    private string? _lastThread;

    private async Task<(Api.Sandboxes.SandboxInfo Info, Api.Sandboxes.ISandboxWire Wire)> StartAsync(string thread)
    {
        var started = await _fixture.StartAsync(thread);
        _lastThread = thread;
        _sandboxes.Add(started.Info.SandboxId);
        return started;
    }

    internal static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (!condition())
        {
            if (DateTimeOffset.UtcNow > deadline)
            {
                throw new TimeoutException("condition not met in time");
            }

            await Task.Delay(50);
        }
    }

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        foreach (var id in _sandboxes)
        {
            await _fixture.Backend.StopAsync(id, CancellationToken.None);
        }
    }
}
