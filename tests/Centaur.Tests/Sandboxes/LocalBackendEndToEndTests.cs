using System.Text.Json.Nodes;
using Centaur.Tests.ControlPlane;
using Centaur.Tests.Fakes.FakeLlm;
using Centaur.Tests.Infrastructure;

namespace Centaur.Tests.Sandboxes;

/// <summary>
/// The whole path with nothing faked but the LLM: Centaur.Api (its own process, the AppHost's Postgres) with
/// Sandbox:Backend=local and a warm pool, a real bubblewrap sandbox, the real runtime and the real Claude Code.
/// </summary>
[Collection(AppCollection.Name)]
public sealed class LocalBackendEndToEndTests(CentaurAppFixture app) : IAsyncLifetime
{
    private static readonly TimeSpan s_turnTimeout = TimeSpan.FromSeconds(120);
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"centaur-e2e-{Guid.NewGuid():N}"[..24]);
    private FakeLlmServer _llm = null!;
    private ApiProcess _api = null!;

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        _llm = await FakeLlmServer.StartAsync(Path.Combine(_root, "egress.sock"), TestContext.Current.CancellationToken);
        _api = await app.StartApiProcessAsync(new Dictionary<string, string>
        {
            ["Sandbox__Backend"] = "local",
            ["Sandbox__WarmPoolSize"] = "1",
            ["Sandbox__StateDirectory"] = Path.Combine(_root, "state"),
            ["Sandbox__EgressSocket"] = _llm.SocketPath,
            ["Sandbox__AnthropicBaseUrl"] = "{egress}",
        });
    }

    [Fact]
    public async Task AThreadIsAnsweredByClaudeCodeInALocalSandboxAndATurnCanCallTheToolGateway()
    {
        var agent = new AgentClient(_api.CreateClient());
        var thread = AgentClient.NewThreadKey();

        var first = await agent.AskAsync(thread, "hello from the control plane");
        var firstEvents = await agent.WaitForEndAsync(thread, first["execution_id"]!.GetValue<long>(), s_turnTimeout);
        await agent.MessageAsync(thread, "TOOL: call centaur thread_status '{}'");
        var second = await agent.ExecuteAsync(thread);
        var secondEvents = await agent.WaitForEndAsync(thread, second["execution_id"]!.GetValue<long>(), s_turnTimeout);

        Assert.Equal("succeeded", firstEvents[^1].State);
        Assert.Equal("Echo: hello from the control plane (msgs=2)", firstEvents[^1].Data["result"]!.GetValue<string>());
        Assert.Contains(firstEvents, e => e.Type == "assistant_delta");
        Assert.Contains(firstEvents, e => e.Type == "status" && e.Data["text"]!.GetValue<string>() is "claimed a warm sandbox" or "spawning sandbox");
        Assert.Equal("succeeded", secondEvents[^1].State);
        var toolResult = secondEvents.Single(e => e.Type == "tool_result").Data["content"]!.ToString();
        Assert.Contains(thread, toolResult, StringComparison.Ordinal);
        Assert.Contains("\"harness\"", toolResult, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KillingTheSandboxMidTurnMakesTheControlPlaneReplayTheTurnIntoANewSandbox()
    {
        var agent = new AgentClient(_api.CreateClient());
        var thread = AgentClient.NewThreadKey();
        _llm.Enqueue(new FakeReply("never delivered", null, TimeSpan.FromSeconds(90)));

        var execution = await agent.AskAsync(thread, "a turn that survives a crash");
        await ClaudeSandboxTests.WaitUntilAsync(() => _llm.Requests.Any(r => r.UserText.Contains("survives a crash", StringComparison.Ordinal)), TimeSpan.FromSeconds(60));
        var detail = JsonNode.Parse(await agent.Http.GetStringAsync($"/agent/threads/{Uri.EscapeDataString(thread)}", TestContext.Current.CancellationToken))!;
        var sandboxId = detail["session"]!["sandbox_id"]!.GetValue<string>();
        KillSandbox(sandboxId);
        var events = await agent.WaitForEndAsync(thread, execution["execution_id"]!.GetValue<long>(), s_turnTimeout);

        Assert.Equal("succeeded", events[^1].State);
        // The replacement resumes the thread's Claude session, which already holds the interrupted attempt's prompt.
        Assert.StartsWith("Echo: a turn that survives a crash", events[^1].Data["result"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains(events, e => e.Type == "status" && e.Data["text"]!.GetValue<string>().Contains("replaying", StringComparison.Ordinal));
        var after = JsonNode.Parse(await agent.Http.GetStringAsync($"/agent/threads/{Uri.EscapeDataString(thread)}", TestContext.Current.CancellationToken))!;
        Assert.NotEqual(sandboxId, after["session"]!["sandbox_id"]!.GetValue<string>());
    }

    /// <summary>SIGKILL for the sandbox's bwrap (found by its --hostname): the sandbox dies with everything in it.</summary>
    private static void KillSandbox(string sandboxId)
    {
        var hostname = Api.Sandboxes.Local.SandboxCommand.Hostname(sandboxId);
        foreach (var dir in Directory.EnumerateDirectories("/proc").Where(d => int.TryParse(Path.GetFileName(d), out _)))
        {
            string[] args;
            try
            {
                args = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
            }
            catch (IOException)
            {
                continue;
            }

            var at = Array.IndexOf(args, "--hostname");
            if (Path.GetFileName(args[0]) == "bwrap" && at >= 0 && at + 1 < args.Length && args[at + 1] == hostname)
            {
                using var process = System.Diagnostics.Process.GetProcessById(int.Parse(Path.GetFileName(dir), System.Globalization.CultureInfo.InvariantCulture));
                process.Kill();
                return;
            }
        }

        throw new InvalidOperationException($"no bwrap process for {sandboxId}");
    }

    public async ValueTask DisposeAsync()
    {
        await _api.DisposeAsync();
        await _llm.DisposeAsync();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // best effort: /tmp
        }
    }
}
