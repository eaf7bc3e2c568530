using System.Text.Json.Nodes;
using Npgsql;
using NpgsqlTypes;

namespace Centaur.Api.Executions;

/// <summary>The execution queue and its state machine (queued → running → succeeded|failed|cancelled|interrupted).</summary>
internal sealed class ExecutionStore(NpgsqlDataSource db)
{
    private const string Columns = """
        id, thread_key, state, idempotency_key, turn_id, attempts, resume_of, result_text, error, usage,
        created_at, started_at, finished_at
        """;

    /// <summary>
    /// Idempotent on (thread, idempotency_key). While a run is in progress and no message arrived since it started,
    /// a new key returns the running execution: there is nothing new for a second turn to answer.
    /// The queued event is written in the same transaction, under the thread's event lock.
    /// </summary>
    public async Task<(ExecutionResponse Execution, bool Created)> CreateAsync(
        string threadKey, string idempotencyKey, long? resumeOf, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await EventLog.LockThreadAsync(connection, transaction, threadKey, cancellationToken);

        const string Existing = $"""
            SELECT {Columns} FROM agent_execution_requests WHERE thread_key = @thread_key AND idempotency_key = @key
            UNION ALL
            (SELECT {Columns} FROM agent_execution_requests r
             WHERE thread_key = @thread_key AND state = 'running' AND @resume_of::bigint IS NULL
               AND NOT EXISTS (SELECT 1 FROM agent_message_requests m WHERE m.thread_key = r.thread_key AND m.execution_id IS NULL)
             LIMIT 1)
            LIMIT 1
            """;
        await using (var find = new NpgsqlCommand(Existing, connection, transaction))
        {
            find.Parameters.AddWithValue("thread_key", threadKey);
            find.Parameters.AddWithValue("key", idempotencyKey);
            find.Parameters.Add(new NpgsqlParameter<long?>("resume_of", NpgsqlDbType.Bigint) { TypedValue = resumeOf });
            await using var reader = await find.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                return (Read(reader), false);
            }
        }

        const string Insert = $"""
            INSERT INTO agent_execution_requests (thread_key, idempotency_key, resume_of, traceparent)
            VALUES (@thread_key, @key, @resume_of, @traceparent) RETURNING {Columns}
            """;
        ExecutionResponse created;
        await using (var insert = new NpgsqlCommand(Insert, connection, transaction))
        {
            insert.Parameters.AddWithValue("thread_key", threadKey);
            insert.Parameters.AddWithValue("key", idempotencyKey);
            insert.Parameters.Add(new NpgsqlParameter<long?>("resume_of", NpgsqlDbType.Bigint) { TypedValue = resumeOf });
            insert.Parameters.Add(new NpgsqlParameter<string?>("traceparent", NpgsqlDbType.Text) { TypedValue = System.Diagnostics.Activity.Current?.Id });
            await using var reader = await insert.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            created = Read(reader);
        }

        await EventLog.InsertAsync(connection, transaction, threadKey, created.ExecutionId, EventTypes.ExecutionState,
            new JsonObject { ["state"] = ExecutionStates.Queued }, raw: null, cancellationToken);
        await using (var wake = new NpgsqlCommand("SELECT pg_notify('centaur_executions', @thread_key)", connection, transaction))
        {
            wake.Parameters.AddWithValue("thread_key", threadKey);
            await wake.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return (created, true);
    }

    public async Task<ExecutionResponse?> GetAsync(long executionId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand($"SELECT {Columns} FROM agent_execution_requests WHERE id = @id");
        command.Parameters.AddWithValue("id", executionId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    public async Task<IReadOnlyList<ExecutionResponse>> ListForThreadAsync(string threadKey, int limit, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand(
            $"SELECT {Columns} FROM agent_execution_requests WHERE thread_key = @thread_key ORDER BY id DESC LIMIT @limit");
        command.Parameters.AddWithValue("thread_key", threadKey);
        command.Parameters.AddWithValue("limit", limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<ExecutionResponse>();
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(Read(reader));
        }

        return list;
    }

    /// <summary>
    /// Records the cancel request. A queued execution is cancelled on the spot; a running one is interrupted by
    /// its worker, which the notification wakes.
    /// </summary>
    public async Task<ExecutionResponse?> RequestCancelAsync(long executionId, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        string? threadKey;
        await using (var find = new NpgsqlCommand("SELECT thread_key FROM agent_execution_requests WHERE id = @id", connection, transaction))
        {
            find.Parameters.AddWithValue("id", executionId);
            threadKey = (string?)await find.ExecuteScalarAsync(cancellationToken);
        }

        if (threadKey is null)
        {
            return null;
        }

        await EventLog.LockThreadAsync(connection, transaction, threadKey, cancellationToken);
        const string Sql = """
            UPDATE agent_execution_requests
            SET cancel_requested_at = coalesce(cancel_requested_at, now()),
                state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END,
                finished_at = CASE WHEN state = 'queued' THEN now() ELSE finished_at END
            WHERE id = @id AND state IN ('queued', 'running')
            RETURNING state
            """;
        string? state;
        await using (var update = new NpgsqlCommand(Sql, connection, transaction))
        {
            update.Parameters.AddWithValue("id", executionId);
            state = (string?)await update.ExecuteScalarAsync(cancellationToken);
        }

        if (state == ExecutionStates.Cancelled)
        {
            await EventLog.InsertAsync(connection, transaction, threadKey, executionId, EventTypes.ExecutionState,
                new JsonObject { ["state"] = ExecutionStates.Cancelled }, raw: null, cancellationToken);
        }
        else if (state == ExecutionStates.Running)
        {
            await using var wake = new NpgsqlCommand("SELECT pg_notify('centaur_cancel', @id::text)", connection, transaction);
            wake.Parameters.AddWithValue("id", executionId);
            await wake.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return await GetAsync(executionId, cancellationToken);
    }

    /// <summary>
    /// Claims the oldest runnable execution: a queued one whose thread has nothing running and nothing queued ahead
    /// of it, or a running one whose worker's lease expired (it crashed). SKIP LOCKED lets replicas claim side by side.
    /// </summary>
    public async Task<(ExecutionResponse Execution, bool Reclaimed)?> ClaimAsync(string owner, TimeSpan lease, CancellationToken cancellationToken)
    {
        const string Sql = """
            WITH candidate AS (
                SELECT c.id, c.state AS previous_state FROM agent_execution_requests c
                WHERE (c.state = 'queued'
                       AND NOT EXISTS (SELECT 1 FROM agent_execution_requests r WHERE r.thread_key = c.thread_key AND r.state = 'running')
                       AND NOT EXISTS (SELECT 1 FROM agent_execution_requests q WHERE q.thread_key = c.thread_key AND q.state = 'queued' AND q.id < c.id))
                   OR (c.state = 'running' AND c.lease_expires_at < now())
                ORDER BY c.id
                LIMIT 1
                FOR UPDATE SKIP LOCKED
            )
            UPDATE agent_execution_requests e
            SET state = 'running', lease_owner = @owner, lease_expires_at = now() + make_interval(secs => @lease),
                started_at = coalesce(e.started_at, now()), attempts = e.attempts + 1
            FROM candidate WHERE e.id = candidate.id
            RETURNING e.id, e.thread_key, e.state, e.idempotency_key, e.turn_id, e.attempts, e.resume_of, e.result_text,
                      e.error, e.usage, e.created_at, e.started_at, e.finished_at, candidate.previous_state = 'running'
            """;
        try
        {
            await using var command = db.CreateCommand(Sql);
            command.Parameters.AddWithValue("owner", owner);
            command.Parameters.AddWithValue("lease", lease.TotalSeconds);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken) ? (Read(reader), reader.GetBoolean(13)) : null;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            // Another replica started a run on the same thread a moment earlier; the next claim picks something else.
            return null;
        }
    }

    /// <summary>Extends the lease; false when it was lost (another worker owns the execution now).</summary>
    public async Task<bool> RenewLeaseAsync(long executionId, string owner, TimeSpan lease, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("""
            UPDATE agent_execution_requests SET lease_expires_at = now() + make_interval(secs => @lease)
            WHERE id = @id AND lease_owner = @owner AND state = 'running'
            """);
        command.Parameters.AddWithValue("id", executionId);
        command.Parameters.AddWithValue("owner", owner);
        command.Parameters.AddWithValue("lease", lease.TotalSeconds);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<bool> IsCancelRequestedAsync(long executionId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("SELECT cancel_requested_at IS NOT NULL FROM agent_execution_requests WHERE id = @id");
        command.Parameters.AddWithValue("id", executionId);
        return await command.ExecuteScalarAsync(cancellationToken) is true;
    }

    public async Task<string?> TraceParentAsync(long executionId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("SELECT traceparent FROM agent_execution_requests WHERE id = @id");
        command.Parameters.AddWithValue("id", executionId);
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }

    public async Task SetTurnTraceAsync(long executionId, string traceparent, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("UPDATE agent_execution_requests SET turn_traceparent = @traceparent WHERE id = @id");
        command.Parameters.AddWithValue("id", executionId);
        command.Parameters.AddWithValue("traceparent", traceparent);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task SetTurnAsync(long executionId, string turnId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("UPDATE agent_execution_requests SET turn_id = @turn_id WHERE id = @id");
        command.Parameters.AddWithValue("id", executionId);
        command.Parameters.AddWithValue("turn_id", turnId);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    internal static ExecutionResponse Read(NpgsqlDataReader r) => new(
        r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4), r.GetInt32(5),
        r.IsDBNull(6) ? null : r.GetInt64(6), r.IsDBNull(7) ? null : r.GetString(7),
        r.IsDBNull(8) ? null : JsonNode.Parse(r.GetString(8)), r.IsDBNull(9) ? null : JsonNode.Parse(r.GetString(9)),
        r.GetFieldValue<DateTimeOffset>(10), r.IsDBNull(11) ? null : r.GetFieldValue<DateTimeOffset>(11),
        r.IsDBNull(12) ? null : r.GetFieldValue<DateTimeOffset>(12));
}
