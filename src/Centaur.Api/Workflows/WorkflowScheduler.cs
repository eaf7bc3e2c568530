using Centaur.Api.Data;
using Centaur.Api.Overlay;
using Centaur.Sdk;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace Centaur.Api.Workflows;

/// <summary>
/// Fires cron-scheduled workflows. The next fire time of each schedule lives in workflow_schedules; every replica
/// ticks, but a due schedule row is taken FOR UPDATE SKIP LOCKED and its run is keyed "cron:&lt;fire time&gt;", so
/// each period fires exactly one run however many replicas run. Periods missed while no API ran fire once, not
/// once per missed period.
/// </summary>
internal sealed class WorkflowScheduler(
    NpgsqlDataSource db, ExtensionCatalog catalog, WorkflowSignal signal, DatabaseReadiness readiness, TimeProvider time,
    IOptions<WorkflowOptions> options, ILogger<WorkflowScheduler> logger) : BackgroundService
{
    private static readonly TimeSpan s_tick = TimeSpan.FromMilliseconds(500);
    private static readonly string s_identity = $"scheduler@{Environment.MachineName}/{Environment.ProcessId}";
    private int _syncedVersion;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Scheduler)
        {
            return;
        }

        await readiness.WaitAsync(stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var schedules = Scheduled(catalog.Current);
                if (schedules.Count > 0)
                {
                    if (_syncedVersion != catalog.Current.Version)
                    {
                        await SyncAsync(schedules, stoppingToken);
                        _syncedVersion = catalog.Current.Version;
                    }

                    if (await FireDueAsync(schedules, stoppingToken) > 0)
                    {
                        signal.Wake();
                    }
                }

                await Task.Delay(s_tick, time, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
            {
                WorkflowsLog.ScheduleFailed(logger, ex);
                await Task.Delay(TimeSpan.FromSeconds(5), time, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    private static Dictionary<string, (IWorkflow Workflow, CronSchedule Cron)> Scheduled(ExtensionSnapshot snapshot)
    {
        var scheduled = new Dictionary<string, (IWorkflow, CronSchedule)>(StringComparer.Ordinal);
        foreach (var (name, entry) in snapshot.Workflows)
        {
            if (entry.Item.Schedule is { } schedule && CronSchedule.TryParse(schedule, out var cron) is null)
            {
                scheduled[name] = (entry.Item, cron!);
            }
        }

        return scheduled;
    }

    /// <summary>Registers each schedule; a changed cron or time zone restarts its clock from now.</summary>
    private async Task SyncAsync(Dictionary<string, (IWorkflow Workflow, CronSchedule Cron)> schedules, CancellationToken cancellationToken)
    {
        const string Sql = """
            INSERT INTO workflow_schedules AS s (workflow, cron, time_zone, next_fire_at)
            VALUES (@workflow, @cron, @time_zone, @next)
            ON CONFLICT (workflow) DO UPDATE SET
                cron = excluded.cron, time_zone = excluded.time_zone, updated_at = now(),
                next_fire_at = CASE WHEN s.cron = excluded.cron AND s.time_zone = excluded.time_zone THEN s.next_fire_at ELSE excluded.next_fire_at END
            """;
        var now = time.GetUtcNow();
        foreach (var (name, (workflow, cron)) in schedules)
        {
            if (cron.Next(now) is not { } next)
            {
                continue;
            }

            await using var command = db.CreateCommand(Sql);
            command.Parameters.AddWithValue("workflow", name);
            command.Parameters.AddWithValue("cron", workflow.Schedule!.Cron);
            command.Parameters.AddWithValue("time_zone", workflow.Schedule.TimeZone);
            command.Parameters.AddWithValue("next", next);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private async Task<int> FireDueAsync(Dictionary<string, (IWorkflow Workflow, CronSchedule Cron)> schedules, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var due = new List<(string Workflow, DateTimeOffset FireAt)>();
        await using (var select = new NpgsqlCommand("""
            SELECT workflow, next_fire_at FROM workflow_schedules
            WHERE workflow = ANY(@names) AND next_fire_at <= @now
            FOR UPDATE SKIP LOCKED
            """, connection, transaction))
        {
            select.Parameters.AddWithValue("names", schedules.Keys.ToArray());
            select.Parameters.AddWithValue("now", now);
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                due.Add((reader.GetString(0), reader.GetFieldValue<DateTimeOffset>(1)));
            }
        }

        foreach (var (workflow, fireAt) in due)
        {
            var (definition, cron) = schedules[workflow];
            long? runId;
            await using (var insert = new NpgsqlCommand("""
                INSERT INTO workflow_runs (workflow, trigger, idempotency_key, input, created_by)
                VALUES (@workflow, 'cron', @key, @input, @scheduler)
                ON CONFLICT (workflow, idempotency_key) DO NOTHING
                RETURNING id
                """, connection, transaction))
            {
                insert.Parameters.AddWithValue("workflow", workflow);
                insert.Parameters.AddWithValue("scheduler", s_identity);
                insert.Parameters.AddWithValue("key", $"cron:{fireAt.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}");
                insert.Parameters.Add(new NpgsqlParameter("input", NpgsqlDbType.Jsonb) { Value = definition.Schedule!.Input?.ToJsonString() ?? "{}" });
                runId = await insert.ExecuteScalarAsync(cancellationToken) as long?;
            }

            await using (var advance = new NpgsqlCommand("""
                UPDATE workflow_schedules SET next_fire_at = @next, last_fired_at = @fired, updated_at = now() WHERE workflow = @workflow
                """, connection, transaction))
            {
                advance.Parameters.AddWithValue("workflow", workflow);
                advance.Parameters.AddWithValue("fired", fireAt);
                // Missed periods (no API was running) collapse into this one run.
                advance.Parameters.AddWithValue("next", cron.Next(fireAt > now ? fireAt : now) ?? DateTimeOffset.MaxValue);
                await advance.ExecuteNonQueryAsync(cancellationToken);
            }

            WorkflowsLog.ScheduleFired(logger, workflow, fireAt, runId);
        }

        await transaction.CommitAsync(cancellationToken);
        return due.Count;
    }
}
