using System.Text.Json.Nodes;
using Centaur.Api.Sandboxes;

namespace Centaur.Tests.Sandboxes;

/// <summary>The same turn with the other real CLIs: Codex (app-server) and pi (RPC mode), each in its own sandbox.</summary>
[Collection(SandboxCollection.Name)]
public sealed class HarnessSandboxTests(SandboxFixture fixture) : IAsyncLifetime
{
    private readonly List<string> _sandboxes = [];

    // An explicit model: Codex's built-in default runs tools through its JavaScript "code mode".
    public static TheoryData<string, string?, string> Harnesses => new()
    {
        { "codex", "gpt-5.1-codex", "Bash" },
        { "pi", "claude-sonnet-4-5", "bash" },
    };

    [Theory]
    [MemberData(nameof(Harnesses))]
    public async Task TheHarnessAnswersATurnAndASecondTurnSeesTheFirst(string harness, string? model, string toolName)
    {
        _ = toolName;
        var (_, wire) = await StartAsync(harness, model);

        var first = await SandboxFixture.TurnAsync(wire, 1, "remember the word banana");
        var second = await SandboxFixture.TurnAsync(wire, 2, "which fruit did I name?");

        Assert.True(first.Succeeded, first.ToString());
        Assert.StartsWith("Echo: remember the word banana", first.ResultText, StringComparison.Ordinal);
        Assert.True(second.Succeeded, second.ToString());
        Assert.StartsWith("Echo: which fruit did I name?", second.ResultText, StringComparison.Ordinal);
        Assert.Contains("remember the word banana", fixture.Llm.Requests[^1].Body.ToJsonString(), StringComparison.Ordinal);
        Assert.True(fixture.Llm.Requests[^1].MessageCount > fixture.Llm.Requests[0].MessageCount);
    }

    [Theory]
    [MemberData(nameof(Harnesses))]
    public async Task TheHarnessRunsAShellToolInsideTheSandbox(string harness, string? model, string toolName)
    {
        var (_, wire) = await StartAsync(harness, model);

        var turn = await SandboxFixture.TurnAsync(wire, 1, "TOOL: echo tool-ran-as-$(id -u) on $(hostname)");

        Assert.True(turn.Succeeded, turn.ToString());
        var toolUse = turn.OfType("assistant").SelectMany(l => l["message"]!["content"]!.AsArray()).OfType<JsonObject>().First(b => b["type"]!.GetValue<string>() == "tool_use");
        Assert.Equal(toolName, toolUse["name"]!.GetValue<string>());
        Assert.Contains(turn.ToolResults, r => r.Contains("tool-ran-as-1000 on sbx-", StringComparison.Ordinal));
        Assert.Contains("tool-ran-as-1000 on sbx-", fixture.Llm.Requests[^1].ToolOutput ?? "", StringComparison.Ordinal);
        Assert.StartsWith("Tool result was:", turn.ResultText, StringComparison.Ordinal);
    }

    private async Task<(SandboxInfo Info, ISandboxWire Wire)> StartAsync(string harness, string? model)
    {
        fixture.Llm.Reset();
        var started = await fixture.StartAsync(SandboxFixture.NewThread(harness), harness, model);
        _sandboxes.Add(started.Info.SandboxId);
        return started;
    }

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        foreach (var id in _sandboxes)
        {
            await fixture.Backend.StopAsync(id, CancellationToken.None);
        }
    }
}
