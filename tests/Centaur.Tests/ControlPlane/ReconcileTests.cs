using System.Text.Json.Nodes;
using Centaur.Tests.Infrastructure;
using Npgsql;

namespace Centaur.Tests.ControlPlane;

/// <summary>Each reconcile step, from a stale state built by hand to the outcome the spec asks for.</summary>
[Collection(AppCollection.Name)]
public sealed class ReconcileTests(CentaurAppFixture fixture)
{
    [Fact]
    public async Task EveryReconcileStepRepairsItsKindOfStaleState()
    {
        await using var api = await fixture.StartApiProcessAsync();
        using var http = api.CreateClient();
        using var admin = api.CreateClient(ApiProcess.AdminKey);
        var agent = new AgentClient(http);
        await using var db = NpgsqlDataSource.Create(api.ConnectionString);

        // A) the session names a sandbox the backend does not have
        var vanished = AgentClient.NewThreadKey();
        await agent.SpawnAsync(vanished);
        await ExecAsync(db, "UPDATE sandbox_sessions SET sandbox_id = 'sbx-vanished', state = 'ready' WHERE thread_key = @t", vanished);

        // B) a live sandbox idle for longer than IDLE_TTL_S
        var idle = AgentClient.NewThreadKey();
        var turn = await agent.AskAsync(idle, "hello");
        await agent.WaitForEndAsync(idle, turn["execution_id"]!.GetValue<long>());
        await ExecAsync(db, "UPDATE sandbox_sessions SET last_activity_at = now() - interval '2 days' WHERE thread_key = @t", idle);
        var idleSandbox = await ScalarAsync(db, "SELECT sandbox_id FROM sandbox_sessions WHERE thread_key = @t", idle);

        // C) marked running with no sandbox wire, no inflight turn and no running execution
        var running = AgentClient.NewThreadKey();
        await agent.SpawnAsync(running);
        await ExecAsync(db, "UPDATE sandbox_sessions SET state = 'running' WHERE thread_key = @t", running);

        // D) an inflight turn whose execution already finished
        var inflight = AgentClient.NewThreadKey();
        var finished = await agent.AskAsync(inflight, "done already");
        await agent.WaitForEndAsync(inflight, finished["execution_id"]!.GetValue<long>());
        await ExecAsync(db, $"UPDATE sandbox_sessions SET inflight_turn_id = 'turn-0000000000000000', inflight_execution_id = {finished["execution_id"]}, inflight_payload = '{{}}' WHERE thread_key = @t", inflight);

        // E) a live sandbox made for a thread that no session names (its API died before binding it)
        var orphaned = AgentClient.NewThreadKey();
        var lost = await agent.AskAsync(orphaned, "soon forgotten");
        await agent.WaitForEndAsync(orphaned, lost["execution_id"]!.GetValue<long>());
        var orphan = await ScalarAsync(db, "SELECT sandbox_id FROM sandbox_sessions WHERE thread_key = @t", orphaned);
        await ExecAsync(db, "UPDATE sandbox_sessions SET sandbox_id = NULL, state = 'suspended' WHERE thread_key = @t", orphaned);
        // ... but a thread being spawned right now keeps the sandbox it is about to bind
        var spawning = AgentClient.NewThreadKey();
        var binding = await agent.AskAsync(spawning, "being bound");
        await agent.WaitForEndAsync(spawning, binding["execution_id"]!.GetValue<long>());
        var unbound = await ScalarAsync(db, "SELECT sandbox_id FROM sandbox_sessions WHERE thread_key = @t", spawning);
        await ExecAsync(db, "UPDATE sandbox_sessions SET sandbox_id = NULL, state = 'spawning' WHERE thread_key = @t", spawning);

        using var response = await admin.PostAsync("/admin/reconcile", null);
        var report = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.True(response.IsSuccessStatusCode, report.ToJsonString());
        Assert.Equal("suspended", await ScalarAsync(db, "SELECT state FROM sandbox_sessions WHERE thread_key = @t", vanished));
        Assert.Null(await ScalarAsync(db, "SELECT sandbox_id FROM sandbox_sessions WHERE thread_key = @t", vanished));
        Assert.Equal("stopped", await ScalarAsync(db, "SELECT state FROM sandbox_sessions WHERE thread_key = @t", idle));
        Assert.DoesNotContain(Directory.EnumerateDirectories("/proc"), p => ReadEnvironment(p).Contains(idleSandbox!, StringComparison.Ordinal));
        Assert.Equal("suspended", await ScalarAsync(db, "SELECT state FROM sandbox_sessions WHERE thread_key = @t", running));
        Assert.Null(await ScalarAsync(db, "SELECT inflight_turn_id FROM sandbox_sessions WHERE thread_key = @t", inflight));
        Assert.True(report["suspended"]!.GetValue<int>() >= 1);
        Assert.True(report["idle_stopped"]!.GetValue<int>() >= 1);
        Assert.True(report["running_reaped"]!.GetValue<int>() >= 1);
        Assert.True(report["inflight_reaped"]!.GetValue<int>() >= 1);
        Assert.True(report["orphans_stopped"]!.GetValue<int>() >= 1);
        Assert.DoesNotContain(Directory.EnumerateDirectories("/proc"), p => ReadEnvironment(p).Contains(orphan!, StringComparison.Ordinal));
        Assert.Contains(Directory.EnumerateDirectories("/proc"), p => ReadEnvironment(p).Contains(unbound!, StringComparison.Ordinal));

        // and the idle thread simply gets a new sandbox on its next turn
        await agent.MessageAsync(idle, "back again");
        var next = await agent.ExecuteAsync(idle);
        var events = await agent.WaitForEndAsync(idle, next["execution_id"]!.GetValue<long>());
        Assert.Equal("succeeded", events[^1].State);
    }

    private static async Task ExecAsync(NpgsqlDataSource db, string sql, string thread)
    {
        await using var command = db.CreateCommand(sql);
        command.Parameters.AddWithValue("t", thread);
        Assert.Equal(1, await command.ExecuteNonQueryAsync());
    }

    private static async Task<string?> ScalarAsync(NpgsqlDataSource db, string sql, string thread)
    {
        await using var command = db.CreateCommand(sql);
        command.Parameters.AddWithValue("t", thread);
        return await command.ExecuteScalarAsync() as string;
    }

    private static string ReadEnvironment(string procDir)
    {
        try
        {
            return File.ReadAllText(Path.Combine(procDir, "environ")).Replace('\0', ' ');
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }
}
