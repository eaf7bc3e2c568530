using System.Text.Json.Nodes;
using Npgsql;
using NpgsqlTypes;

namespace Centaur.Api.Workflows;

/// <summary>
/// Workflow runs and their steps. Every write a worker makes is fenced by its lease (lease_owner and state =
/// running), so a worker that lost its run to another cannot overwrite what the new owner does.
/// </summary>
internal sealed class WorkflowStore(NpgsqlDataSource db)
{
    private const string Columns = """
        id, workflow, trigger, state, idempotency_key, input, result, error, attempts, failures, wake_at, created_by,
        created_at, started_at, finished_at
        """;

    private const string Fence = "id = @id AND lease_owner = @owner AND state = 'running'";

    /// <summary>Idempotent on (workflow, idempotency_key): the same key returns the run it created first.</summary>
    public async Task<(WorkflowRun Run, bool Created)> CreateRunAsync(
        string workflow, string trigger, JsonObject input, string? idempotencyKey, string? createdBy, CancellationToken cancellationToken)
    {
        const string Sql = $"""
            WITH inserted AS (
                INSERT INTO workflow_runs (workflow, trigger, idempotency_key, input, created_by)
                VALUES (@workflow, @trigger, @key, @input, @created_by)
                ON CONFLICT (workflow, idempotency_key) DO NOTHING
                RETURNING {Columns}
            )
            SELECT {Columns}, true FROM inserted
            UNION ALL
            SELECT {Columns}, false FROM workflow_runs
            WHERE workflow = @workflow AND idempotency_key = @key AND NOT EXISTS (SELECT 1 FROM inserted)
            """;
        await using var command = db.CreateCommand(Sql);
        command.Parameters.AddWithValue("workflow", workflow);
        command.Parameters.AddWithValue("trigger", trigger);
        command.Parameters.Add(new NpgsqlParameter<string?>("key", NpgsqlDbType.Text) { TypedValue = idempotencyKey });
        command.Parameters.Add(new NpgsqlParameter("input", NpgsqlDbType.Jsonb) { Value = input.ToJsonString() });
        command.Parameters.Add(new NpgsqlParameter<string?>("created_by", NpgsqlDbType.Text) { TypedValue = createdBy });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (Read(reader), reader.GetBoolean(15));
    }

    public async Task<WorkflowRun?> GetRunAsync(long runId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand($"SELECT {Columns} FROM workflow_runs WHERE id = @id");
        command.Parameters.AddWithValue("id", runId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    public async Task<IReadOnlyList<WorkflowRun>> ListRunsAsync(string? workflow, int limit, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand($"""
            SELECT {Columns} FROM workflow_runs WHERE @workflow::text IS NULL OR workflow = @workflow ORDER BY id DESC LIMIT @limit
            """);
        command.Parameters.Add(new NpgsqlParameter<string?>("workflow", NpgsqlDbType.Text) { TypedValue = workflow });
        command.Parameters.AddWithValue("limit", limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var runs = new List<WorkflowRun>();
        while (await reader.ReadAsync(cancellationToken))
        {
            runs.Add(Read(reader));
        }

        return runs;
    }

    public async Task<IReadOnlyList<WorkflowStep>> GetStepsAsync(long runId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("""
            SELECT name, state, result, error, attempts, started_at, completed_at FROM workflow_steps
            WHERE run_id = @id ORDER BY started_at, name
            """);
        command.Parameters.AddWithValue("id", runId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var steps = new List<WorkflowStep>();
        while (await reader.ReadAsync(cancellationToken))
        {
            steps.Add(new WorkflowStep(reader.GetString(0), reader.GetString(1), Json(reader, 2), reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.GetInt32(4), reader.GetFieldValue<DateTimeOffset>(5), reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6)));
        }

        return steps;
    }

    /// <summary>The results of the run's completed steps, by name: what a re-run gets back instead of running them.</summary>
    public async Task<Dictionary<string, JsonNode?>> CompletedStepsAsync(long runId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("SELECT name, result FROM workflow_steps WHERE run_id = @id AND state = 'completed'");
        command.Parameters.AddWithValue("id", runId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var steps = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            steps[reader.GetString(0)] = Json(reader, 1);
        }

        return steps;
    }

    /// <summary>
    /// Claims the oldest due run: queued or sleeping past its wake-up time, or running under an expired lease (its
    /// worker died). SKIP LOCKED lets replicas claim side by side.
    /// </summary>
    public async Task<WorkflowRun?> ClaimAsync(string owner, TimeSpan lease, CancellationToken cancellationToken)
    {
        const string Sql = """
            WITH candidate AS (
                SELECT id FROM workflow_runs
                WHERE (state IN ('queued', 'sleeping') AND (wake_at IS NULL OR wake_at <= now()))
                   OR (state = 'running' AND lease_expires_at < now())
                ORDER BY id
                LIMIT 1
                FOR UPDATE SKIP LOCKED
            )
            UPDATE workflow_runs r
            SET state = 'running', lease_owner = @owner, lease_expires_at = now() + make_interval(secs => @lease),
                attempts = r.attempts + 1, wake_at = NULL, started_at = coalesce(r.started_at, now()), updated_at = now()
            FROM candidate WHERE r.id = candidate.id
            RETURNING r.id, r.workflow, r.trigger, r.state, r.idempotency_key, r.input, r.result, r.error, r.attempts,
                      r.failures, r.wake_at, r.created_by, r.created_at, r.started_at, r.finished_at
            """;
        await using var command = db.CreateCommand(Sql);
        command.Parameters.AddWithValue("owner", owner);
        command.Parameters.AddWithValue("lease", lease.TotalSeconds);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    /// <summary>Extends the lease. Owned = false when another worker has the run; Cancel = true once a cancel was asked for.</summary>
    public async Task<(bool Owned, bool Cancel)> RenewAsync(long runId, string owner, TimeSpan lease, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand($"""
            UPDATE workflow_runs SET lease_expires_at = now() + make_interval(secs => @lease), updated_at = now()
            WHERE {Fence} RETURNING cancel_requested_at IS NOT NULL
            """);
        command.Parameters.AddWithValue("id", runId);
        command.Parameters.AddWithValue("owner", owner);
        command.Parameters.AddWithValue("lease", lease.TotalSeconds);
        return await command.ExecuteScalarAsync(cancellationToken) is bool cancel ? (true, cancel) : (false, false);
    }

    /// <summary>Marks the step as running (counting its attempts), before its code runs. False when the lease is lost.</summary>
    public async Task<bool> BeginStepAsync(long runId, string owner, string name, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand($"""
            INSERT INTO workflow_steps AS s (run_id, name, state)
            SELECT id, @name, 'running' FROM workflow_runs WHERE {Fence}
            ON CONFLICT (run_id, name) DO UPDATE SET state = 'running', attempts = s.attempts + 1, started_at = now(), error = NULL
                WHERE s.state <> 'completed'
            """);
        AddFence(command, runId, owner);
        command.Parameters.AddWithValue("name", name);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<bool> CompleteStepAsync(long runId, string owner, string name, JsonNode? result, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand($"""
            UPDATE workflow_steps SET state = 'completed', result = @result, completed_at = now()
            WHERE run_id = @id AND name = @name AND state = 'running'
              AND EXISTS (SELECT 1 FROM workflow_runs WHERE {Fence})
            """);
        AddFence(command, runId, owner);
        command.Parameters.AddWithValue("name", name);
        command.Parameters.Add(new NpgsqlParameter("result", NpgsqlDbType.Jsonb) { Value = result?.ToJsonString() ?? "null" });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task FailStepAsync(long runId, string owner, string name, string error, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand($"""
            UPDATE workflow_steps SET state = 'failed', error = @error
            WHERE run_id = @id AND name = @name AND state = 'running' AND EXISTS (SELECT 1 FROM workflow_runs WHERE {Fence})
            """);
        AddFence(command, runId, owner);
        command.Parameters.AddWithValue("name", name);
        command.Parameters.AddWithValue("error", error);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Ends the run (succeeded, failed or cancelled) if this worker still owns it.</summary>
    public async Task<bool> FinishAsync(long runId, string owner, string state, JsonNode? result, JsonObject? error, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand($"""
            UPDATE workflow_runs SET state = @state, result = @result, error = @error, finished_at = now(), updated_at = now(),
                                     lease_owner = NULL, lease_expires_at = NULL
            WHERE {Fence}
            """);
        AddFence(command, runId, owner);
        command.Parameters.AddWithValue("state", state);
        command.Parameters.Add(new NpgsqlParameter("result", NpgsqlDbType.Jsonb) { Value = result is null ? DBNull.Value : result.ToJsonString() });
        command.Parameters.Add(new NpgsqlParameter("error", NpgsqlDbType.Jsonb) { Value = error is null ? DBNull.Value : error.ToJsonString() });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>Releases the run until <paramref name="wakeAt"/>: sleeping (a durable sleep) or queued again (retry backoff).</summary>
    public async Task<bool> ReleaseAsync(long runId, string owner, string state, DateTimeOffset wakeAt, JsonObject? error, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand($"""
            UPDATE workflow_runs SET state = @state, wake_at = @wake_at, lease_owner = NULL, lease_expires_at = NULL, updated_at = now(),
                                     failures = failures + CASE WHEN @error::jsonb IS NULL THEN 0 ELSE 1 END,
                                     error = coalesce(@error::jsonb, error)
            WHERE {Fence}
            """);
        AddFence(command, runId, owner);
        command.Parameters.AddWithValue("state", state);
        command.Parameters.AddWithValue("wake_at", wakeAt);
        command.Parameters.Add(new NpgsqlParameter("error", NpgsqlDbType.Jsonb) { Value = error is null ? DBNull.Value : error.ToJsonString() });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>A queued or sleeping run is cancelled at once; a running one when its worker next renews its lease.</summary>
    public async Task<WorkflowRun?> RequestCancelAsync(long runId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("""
            UPDATE workflow_runs
            SET cancel_requested_at = coalesce(cancel_requested_at, now()), updated_at = now(),
                state = CASE WHEN state IN ('queued', 'sleeping') THEN 'cancelled' ELSE state END,
                finished_at = CASE WHEN state IN ('queued', 'sleeping') THEN now() ELSE finished_at END
            WHERE id = @id AND state IN ('queued', 'sleeping', 'running')
            """);
        command.Parameters.AddWithValue("id", runId);
        await command.ExecuteNonQueryAsync(cancellationToken);
        return await GetRunAsync(runId, cancellationToken);
    }

    private static void AddFence(NpgsqlCommand command, long runId, string owner)
    {
        command.Parameters.AddWithValue("id", runId);
        command.Parameters.AddWithValue("owner", owner);
    }

    private static JsonNode? Json(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : JsonNode.Parse(reader.GetString(ordinal));

    private static WorkflowRun Read(NpgsqlDataReader r) => new(
        r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4),
        Json(r, 5) as JsonObject ?? [], Json(r, 6), Json(r, 7), r.GetInt32(8), r.GetInt32(9),
        r.IsDBNull(10) ? null : r.GetFieldValue<DateTimeOffset>(10), r.IsDBNull(11) ? null : r.GetString(11),
        r.GetFieldValue<DateTimeOffset>(12), r.IsDBNull(13) ? null : r.GetFieldValue<DateTimeOffset>(13),
        r.IsDBNull(14) ? null : r.GetFieldValue<DateTimeOffset>(14));
}
