using System.Text.Json.Nodes;
using Centaur.Api.Sandboxes;
using Centaur.Api.Sandboxes.Local;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Centaur.Tests.Sandboxes;

/// <summary>Warm pool claims, crashes mid-turn, tools through `call`, and what happens without bubblewrap.</summary>
[Collection(SandboxCollection.Name)]
public sealed class SandboxLifecycleTests(SandboxFixture fixture) : IAsyncLifetime
{
    private readonly List<string> _sandboxes = [];

    [Fact]
    public async Task AWarmSandboxIsClaimedForAThreadWithoutARestartAndAnswers()
    {
        var id = SandboxFixture.NewId();
        var warm = await fixture.Backend.StartAsync(new SandboxSpec(id, null, "claude", null, null, new Dictionary<string, string>()), TestContext.Current.CancellationToken);
        _sandboxes.Add(id);
        var thread = SandboxFixture.NewThread("warm");

        var claimed = await fixture.Backend.AssignAsync(id, new SandboxSpec(id, thread, "claude", null, null, new Dictionary<string, string>()), TestContext.Current.CancellationToken);
        await using var wire = await fixture.Backend.AttachAsync(id, TestContext.Current.CancellationToken);
        var turn = await SandboxFixture.TurnAsync(wire, 1, "hello warm sandbox");

        Assert.Equal(SandboxState.Ready, warm.State);
        Assert.Null(warm.ThreadKey);
        Assert.Equal(thread, claimed.ThreadKey);
        Assert.True(turn.Succeeded, turn.ToString());
        Assert.True(File.Exists(Path.Combine(fixture.Backend.ThreadHome(thread), ".ready")));
        await Assert.ThrowsAsync<SandboxStartException>(() => fixture.Backend.AssignAsync(id, new SandboxSpec(id, "test:other", "claude", null, null, new Dictionary<string, string>()), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task AWarmSandboxClaimedByAReturningThreadContinuesItsConversation()
    {
        var thread = SandboxFixture.NewThread("warm-return");
        var (cold, coldWire) = await fixture.StartAsync(thread);
        Assert.True((await SandboxFixture.TurnAsync(coldWire, 1, "my favourite colour is teal")).Succeeded);
        await fixture.Backend.StopAsync(cold.SandboxId, TestContext.Current.CancellationToken);

        var id = SandboxFixture.NewId();
        await fixture.Backend.StartAsync(new SandboxSpec(id, null, "claude", null, null, new Dictionary<string, string>()), TestContext.Current.CancellationToken);
        _sandboxes.Add(id);
        var claimed = await fixture.Backend.AssignAsync(id, new SandboxSpec(id, thread, "claude", null, null, new Dictionary<string, string>()), TestContext.Current.CancellationToken);
        await using var wire = await fixture.Backend.AttachAsync(id, TestContext.Current.CancellationToken);
        var turn = await SandboxFixture.TurnAsync(wire, 2, "what is my favourite colour?");

        Assert.True(turn.Succeeded, turn.ToString());
        Assert.Equal("Echo: what is my favourite colour? (msgs=4)", turn.ResultText);
        Assert.Contains("my favourite colour is teal", fixture.Llm.Requests[^1].Body.ToJsonString(), StringComparison.Ordinal);
        Assert.NotNull(claimed.HarnessSessionId);
    }

    [Fact]
    public async Task ASandboxKilledMidTurnEndsTheWireAndTheTurnReplaysIntoANewSandbox()
    {
        var thread = SandboxFixture.NewThread("crash");
        var (first, wire) = await fixture.StartAsync(thread);
        _sandboxes.Add(first.SandboxId);
        fixture.Llm.Enqueue(new Fakes.FakeLlm.FakeReply("never delivered", null, TimeSpan.FromSeconds(60)));
        var turnStart = new JsonObject { ["type"] = "turn.start", ["turn_id"] = 7, ["text"] = "the turn to replay" };
        using var cts = new CancellationTokenSource(SandboxFixture.TurnTimeout);

        await wire.SendAsync((JsonObject)turnStart.DeepClone(), cts.Token);
        await ClaudeSandboxTests.WaitUntilAsync(() => fixture.Llm.Requests.Count > 0, TimeSpan.FromSeconds(30));
        fixture.Backend.Kill(first.SandboxId);
        var interrupted = await SandboxFixture.ReadTurnAsync(wire, 7, cts.Token);
        var state = await fixture.Backend.GetAsync(first.SandboxId, cts.Token);
        await fixture.Backend.StopAsync(first.SandboxId, cts.Token);

        // What the control plane does: no side effect recorded → the same turn into a replacement sandbox.
        var (second, replacement) = await fixture.StartAsync(thread);
        _sandboxes.Add(second.SandboxId);
        await replacement.SendAsync((JsonObject)turnStart.DeepClone(), cts.Token);
        var replayed = await SandboxFixture.ReadTurnAsync(replacement, 7, cts.Token);

        Assert.False(interrupted.Done);
        Assert.Equal(SandboxState.Exited, state!.State);
        Assert.True(replayed.Succeeded, replayed.ToString());
        Assert.StartsWith("Echo: the turn to replay", replayed.ResultText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CallReachesAToolWithTheSandboxesIdentityAndABadTokenFailsClearly()
    {
        var thread = SandboxFixture.NewThread("call");
        var (info, wire) = await fixture.StartAsync(thread);
        _sandboxes.Add(info.SandboxId);

        var good = await SandboxFixture.TurnAsync(wire, 1, "TOOL: call echo say '{\"n\": 42}'; echo rc=$?");
        var bad = await SandboxFixture.TurnAsync(wire, 2, "TOOL: echo sbx1.forged.token > /tmp/forged; CENTAUR_SANDBOX_TOKEN_FILE=/tmp/forged call echo say '{}'; echo rc=$?");

        var goodOutput = good.ToolResults.Single();
        Assert.Contains("\"thread_key\":\"" + thread + "\"", goodOutput, StringComparison.Ordinal);
        Assert.Contains("\"n\":42", goodOutput, StringComparison.Ordinal);
        Assert.Contains("rc=0", goodOutput, StringComparison.Ordinal);
        Assert.Contains(fixture.Tools.Calls, c => c.ThreadKey == thread && c.SandboxId == info.SandboxId && c.Tool == "echo" && c.Method == "say");
        var badOutput = bad.ToolResults.Single();
        Assert.Contains("call: echo say failed: HTTP 401: bad_sandbox_token", badOutput, StringComparison.Ordinal);
        Assert.Contains("rc=4", badOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void WithoutBubblewrapTheBackendRefusesToStartUnlessUnisolatedIsAllowed()
    {
        var validator = new LocalSandboxOptionsValidator();

        var refused = validator.Validate(null, new LocalSandboxOptions { BubblewrapPath = "/nonexistent/bwrap", RuntimeDirectory = fixture.Options.RuntimeDirectory });
        var allowed = validator.Validate(null, new LocalSandboxOptions { BubblewrapPath = "/nonexistent/bwrap", AllowUnisolated = true, RuntimeDirectory = fixture.Options.RuntimeDirectory });
        var isolated = validator.Validate(null, new LocalSandboxOptions { RuntimeDirectory = fixture.Options.RuntimeDirectory });

        Assert.True(refused.Failed);
        Assert.Contains("bubblewrap", refused.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Sandbox:AllowUnisolated=true", refused.FailureMessage, StringComparison.Ordinal);
        Assert.True(allowed.Succeeded);
        Assert.True(isolated.Succeeded);
    }

    [Fact]
    public async Task AnUnisolatedBackendStillRunsTurnsAndSaysSoInHealth()
    {
        var options = new LocalSandboxOptions
        {
            StateDirectory = Path.Combine(fixture.Root, "unisolated"),
            BubblewrapPath = "/nonexistent/bwrap",
            AllowUnisolated = true,
            HarnessDirectory = fixture.Options.HarnessDirectory,
            RuntimeDirectory = fixture.Options.RuntimeDirectory,
            EgressSocket = fixture.Options.EgressSocket,
            AnthropicBaseUrl = "{egress}",
            ApiUrl = fixture.Tools.Url,
        };
        await using var backend = fixture.CreateBackend(options);
        var id = SandboxFixture.NewId();

        await backend.StartAsync(new SandboxSpec(id, SandboxFixture.NewThread("unisolated"), "claude", null, null, new Dictionary<string, string>()), TestContext.Current.CancellationToken);
        await using var wire = await backend.AttachAsync(id, TestContext.Current.CancellationToken);
        var turn = await SandboxFixture.TurnAsync(wire, 1, "hello without bubblewrap");
        var health = await new LocalSandboxHealthCheck(backend).CheckHealthAsync(new(), TestContext.Current.CancellationToken);

        Assert.True(turn.Succeeded, turn.ToString());
        Assert.Equal(HealthStatus.Degraded, health.Status);
        Assert.Contains("none (unisolated processes)", health.Description, StringComparison.Ordinal);
    }

    public ValueTask InitializeAsync()
    {
        fixture.Llm.Reset();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var id in _sandboxes)
        {
            await fixture.Backend.StopAsync(id, CancellationToken.None);
        }
    }
}
