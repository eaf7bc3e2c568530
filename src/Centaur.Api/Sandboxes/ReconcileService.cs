using Centaur.Api.Data;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Centaur.Api.Sandboxes;

internal sealed record ReconcileReport(int Suspended, int IdleStopped, int RunningReaped, int InflightReaped, int OrphansStopped);

/// <summary>
/// The reconcile tick (Sandbox:ReconcileIntervalSeconds, 60 s by default). A) sessions whose sandbox is gone become
/// suspended; B) sandboxes idle longer than IDLE_TTL_S are stopped; C) "running" sessions with no live wire, turn
/// or execution are reaped; D) inflight turns with no driving execution are cleared; E) sandboxes made for a thread that
/// no session names (their API died before binding them) are stopped.
/// </summary>
internal sealed partial class ReconcileService(
    NpgsqlDataSource db, ISandboxBackend backend, SandboxManager sandboxes, SandboxSessionStore sessions,
    DatabaseReadiness readiness, IOptions<SandboxOptions> options, TimeProvider time, ILogger<ReconcileService> logger) : BackgroundService
{
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await readiness.WaitAsync(stoppingToken);
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.ReconcileIntervalSeconds), time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or IOException)
            {
                LogTickFailed(logger, ex);
            }
        }
    }

    public async Task<ReconcileReport> RunOnceAsync(CancellationToken cancellationToken)
    {
        await _oneAtATime.WaitAsync(cancellationToken);
        try
        {
            var report = new ReconcileReport(
                await SuspendVanishedAsync(cancellationToken),
                await StopIdleAsync(cancellationToken),
                await ReapRunningAsync(cancellationToken),
                await ReapInflightAsync(cancellationToken),
                await StopOrphansAsync(cancellationToken));
            LogTick(logger, report.Suspended, report.IdleStopped, report.RunningReaped, report.InflightReaped, report.OrphansStopped);
            return report;
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    /// <summary>A) the backend no longer has the session's sandbox.</summary>
    private async Task<int> SuspendVanishedAsync(CancellationToken cancellationToken)
    {
        var count = 0;
        foreach (var session in await sessions.ListLiveAsync(cancellationToken))
        {
            if (await backend.GetAsync(session.SandboxId!, cancellationToken) is { State: not SandboxState.Exited })
            {
                continue;
            }

            await sandboxes.MarkDeadAsync(session.ThreadKey, session.SandboxId!, cancellationToken);
            Count("A", ref count);
        }

        return count;
    }

    /// <summary>B) idle for longer than the TTL, with nothing in flight.</summary>
    private async Task<int> StopIdleAsync(CancellationToken cancellationToken)
    {
        var cutoff = time.GetUtcNow() - TimeSpan.FromSeconds(options.Value.IdleTtlSeconds);
        var count = 0;
        foreach (var session in await sessions.ListLiveAsync(cancellationToken))
        {
            if (session.InflightTurnId is null && session.State == "ready" && session.LastActivityAt < cutoff)
            {
                await sandboxes.StopAsync(session.ThreadKey, session.SandboxId!, "stopped", cancellationToken);
                Count("B", ref count);
            }
        }

        return count;
    }

    /// <summary>C) marked running, but no turn is inflight and no execution runs: nothing will ever finish it.</summary>
    private async Task<int> ReapRunningAsync(CancellationToken cancellationToken)
    {
        const string Sql = """
            SELECT s.thread_key, s.sandbox_id FROM sandbox_sessions s
            WHERE s.state = 'running' AND s.inflight_turn_id IS NULL
              AND NOT EXISTS (SELECT 1 FROM agent_execution_requests e WHERE e.thread_key = s.thread_key AND e.state = 'running')
            """;
        var count = 0;
        foreach (var (thread, sandbox) in await QueryPairsAsync(Sql, cancellationToken))
        {
            if (sandboxes.HasLiveWire(thread) && sandbox is not null)
            {
                await sessions.SetStateAsync(thread, "ready", cancellationToken);
            }
            else if (sandbox is not null)
            {
                await sandboxes.StopAsync(thread, sandbox, "suspended", cancellationToken);
            }
            else
            {
                await sessions.SetStateAsync(thread, "suspended", cancellationToken);
            }

            Count("C", ref count);
        }

        return count;
    }

    /// <summary>D) an inflight turn whose execution is no longer running (finished elsewhere, or gone).</summary>
    private async Task<int> ReapInflightAsync(CancellationToken cancellationToken)
    {
        const string Sql = """
            UPDATE sandbox_sessions s
            SET inflight_turn_id = NULL, inflight_execution_id = NULL, inflight_payload = NULL, inflight_started_at = NULL,
                state = CASE WHEN s.state = 'running' THEN 'ready' ELSE s.state END, updated_at = now()
            WHERE s.inflight_turn_id IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM agent_execution_requests e
                              WHERE e.id = s.inflight_execution_id AND e.state IN ('queued', 'running'))
            RETURNING s.thread_key
            """;
        await using var command = db.CreateCommand(Sql);
        var count = 0;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            Count("D", ref count);
        }

        return count;
    }

    /// <summary>
    /// E) a sandbox the backend runs for a thread, named by no session, while that thread is not being spawned right
    /// now (a spawn marks the session "spawning" before it starts or claims anything, and binds the sandbox last):
    /// its API died in between, and nothing else would ever stop it. On Kubernetes this sees every replica's pods;
    /// a spawn stuck longer than OrphanGraceSeconds counts as dead.
    /// </summary>
    private async Task<int> StopOrphansAsync(CancellationToken cancellationToken)
    {
        const string Sql = """
            SELECT c.id FROM unnest(@ids, @threads) AS c(id, thread)
            WHERE NOT EXISTS (SELECT 1 FROM sandbox_sessions s WHERE s.sandbox_id = c.id)
              AND NOT EXISTS (SELECT 1 FROM sandbox_sessions s
                              WHERE s.thread_key = c.thread AND s.state = 'spawning'
                                AND s.updated_at > now() - make_interval(secs => @grace))
            """;
        var assigned = (await backend.ListAsync(cancellationToken))
            .Where(sandbox => sandbox.ThreadKey is not null && sandbox.State is not SandboxState.Exited)
            .ToList();
        if (assigned.Count == 0)
        {
            return 0;
        }

        await using var command = db.CreateCommand(Sql);
        command.Parameters.AddWithValue("ids", assigned.Select(s => s.SandboxId).ToArray());
        command.Parameters.AddWithValue("threads", assigned.Select(s => s.ThreadKey!).ToArray());
        command.Parameters.AddWithValue("grace", (double)options.Value.OrphanGraceSeconds);
        var orphans = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                orphans.Add(reader.GetString(0));
            }
        }

        var count = 0;
        foreach (var orphan in orphans)
        {
            await backend.StopAsync(orphan, cancellationToken);
            LogOrphanStopped(logger, orphan);
            Count("E", ref count);
        }

        return count;
    }

    private async Task<List<(string Thread, string? Sandbox)>> QueryPairsAsync(string sql, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<(string, string?)>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add((reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1)));
        }

        return rows;
    }

    private static void Count(string step, ref int count)
    {
        count++;
        SandboxMetrics.Reconciled.Add(1, new KeyValuePair<string, object?>("step", step));
    }

    public override void Dispose()
    {
        _oneAtATime.Dispose();
        base.Dispose();
    }

    [LoggerMessage(1901, LogLevel.Information, "Reconcile: A suspended {Suspended}, B idle-stopped {IdleStopped}, C running reaped {RunningReaped}, D inflight reaped {InflightReaped}, E orphans stopped {OrphansStopped}")]
    private static partial void LogTick(ILogger logger, int suspended, int idleStopped, int runningReaped, int inflightReaped, int orphansStopped);

    [LoggerMessage(1910, LogLevel.Warning, "Reconcile: stopped sandbox {SandboxId}, made for a thread but named by no session (its spawn never finished)")]
    private static partial void LogOrphanStopped(ILogger logger, string sandboxId);

    [LoggerMessage(1902, LogLevel.Warning, "Reconcile tick failed")]
    private static partial void LogTickFailed(ILogger logger, Exception exception);
}
