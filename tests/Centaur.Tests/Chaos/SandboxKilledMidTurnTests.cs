using System.Text.Json.Nodes;
using Centaur.Tests.ControlPlane;
using Centaur.Tests.Infrastructure;

namespace Centaur.Tests.Chaos;

/// <summary>The sandbox process SIGKILLed from outside while its turn streams (nothing had happened outside it yet).</summary>
[Collection(ChaosCollection.Name)]
public sealed class SandboxKilledMidTurnTests(ChaosFixture fixture)
{
    private const string Prompt = "a turn that outlives its sandbox\n[fake] deltas=20 delay_ms=150";

    [Fact]
    public async Task ASandboxKilledMidTurnIsReplacedAndTheTurnReplayedToTheSameAnswer()
    {
        await using var api = await fixture.StartApiAsync();
        string? sandboxId = null;
        var killed = 0;

        var (thread, received) = await ChaosAssert.SurvivesMidTurnAsync(api, Prompt, async (agent, thread) =>
        {
            sandboxId = await SandboxIdAsync(agent, thread);
            killed = KillSandboxProcess(sandboxId);
        });

        var replay = Assert.Single(received, e => e.Type == "status" && e.Data["replay"]?.GetValue<bool>() == true);
        Assert.Equal(2, replay.Data["attempt"]!.GetValue<int>());
        Assert.False(Directory.Exists($"/proc/{killed}"), $"sandbox process {killed} is still running");
        Assert.NotEqual(sandboxId, await SandboxIdAsync(new AgentClient(api.CreateClient()), thread));
    }

    private static async Task<string> SandboxIdAsync(AgentClient agent, string thread)
    {
        var detail = JsonNode.Parse(await agent.Http.GetStringAsync($"/agent/threads/{Uri.EscapeDataString(thread)}", TestContext.Current.CancellationToken))!;
        return detail["session"]!["sandbox_id"]!.GetValue<string>();
    }

    /// <summary>SIGKILL for the FakeSandbox process the process backend started for <paramref name="sandboxId"/>.</summary>
    private static int KillSandboxProcess(string sandboxId)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                if (File.ReadAllText(Path.Combine(dir, "environ")).Split('\0').Contains($"CENTAUR_SANDBOX_ID={sandboxId}"))
                {
                    using var process = System.Diagnostics.Process.GetProcessById(pid);
                    process.Kill();
                    process.WaitForExit();
                    return pid;
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
            {
                // a process that ended meanwhile
            }
        }

        throw new InvalidOperationException($"no process for sandbox {sandboxId}");
    }
}
