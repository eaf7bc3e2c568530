using System.Text.Json.Nodes;
using Npgsql;
using NpgsqlTypes;

namespace Centaur.Api.Executions;

internal sealed record StoredEvent(long EventId, long ExecutionId, string Type, JsonNode Data, DateTimeOffset CreatedAt);

/// <summary>
/// agent_execution_events: append under the thread's advisory lock (so ids commit in order within a thread and a
/// reader resuming "after N" never misses a late commit), and read back for replay.
/// </summary>
internal sealed class EventLog(NpgsqlDataSource db)
{
    public async Task<long> AppendAsync(string threadKey, long executionId, string type, JsonNode data, JsonNode? raw, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await LockThreadAsync(connection, transaction, threadKey, cancellationToken);
        var id = await InsertAsync(connection, transaction, threadKey, executionId, type, data, raw, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return id;
    }

    public async Task<IReadOnlyList<StoredEvent>> ReadAsync(string threadKey, long afterEventId, long? executionId, int limit, CancellationToken cancellationToken)
    {
        const string Sql = """
            SELECT id, execution_id, type, data::text, created_at FROM agent_execution_events
            WHERE thread_key = @thread_key AND id > @after AND (@execution_id::bigint IS NULL OR execution_id = @execution_id)
            ORDER BY id LIMIT @limit
            """;
        await using var command = db.CreateCommand(Sql);
        command.Parameters.AddWithValue("thread_key", threadKey);
        command.Parameters.AddWithValue("after", afterEventId);
        command.Parameters.Add(new NpgsqlParameter<long?>("execution_id", NpgsqlDbType.Bigint) { TypedValue = executionId });
        command.Parameters.AddWithValue("limit", limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var events = new List<StoredEvent>();
        while (await reader.ReadAsync(cancellationToken))
        {
            events.Add(new StoredEvent(reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2),
                JsonNode.Parse(reader.GetString(3))!, reader.GetFieldValue<DateTimeOffset>(4)));
        }

        return events;
    }

    /// <summary>
    /// The newest terminal execution_state of the thread (or of one execution) when nothing is queued or running
    /// there: the snapshot a late joiner gets. Null while work is still in progress.
    /// </summary>
    public async Task<StoredEvent?> TerminalSnapshotAsync(string threadKey, long? executionId, CancellationToken cancellationToken)
    {
        const string Sql = """
            SELECT ev.id, ev.execution_id, ev.type, ev.data::text, ev.created_at
            FROM agent_execution_events ev
            WHERE ev.thread_key = @thread_key AND ev.type = 'execution_state'
              AND ev.data->>'state' IN ('succeeded', 'failed', 'cancelled', 'interrupted')
              AND (@execution_id::bigint IS NULL OR ev.execution_id = @execution_id)
              AND NOT EXISTS (SELECT 1 FROM agent_execution_requests r
                              WHERE r.thread_key = @thread_key AND r.state IN ('queued', 'running')
                                AND (@execution_id::bigint IS NULL OR r.id = @execution_id))
            ORDER BY ev.id DESC LIMIT 1
            """;
        await using var command = db.CreateCommand(Sql);
        command.Parameters.AddWithValue("thread_key", threadKey);
        command.Parameters.Add(new NpgsqlParameter<long?>("execution_id", NpgsqlDbType.Bigint) { TypedValue = executionId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new StoredEvent(reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2), JsonNode.Parse(reader.GetString(3))!,
                reader.GetFieldValue<DateTimeOffset>(4))
            : null;
    }

    internal static async Task LockThreadAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string threadKey, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended(@thread_key, 7))", connection, transaction);
        command.Parameters.AddWithValue("thread_key", threadKey);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    internal static async Task<long> InsertAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string threadKey,
        long executionId, string type, JsonNode data, JsonNode? raw, CancellationToken cancellationToken)
    {
        const string Sql = """
            INSERT INTO agent_execution_events (thread_key, execution_id, type, data, raw)
            VALUES (@thread_key, @execution_id, @type, @data, @raw) RETURNING id
            """;
        await using var command = new NpgsqlCommand(Sql, connection, transaction);
        command.Parameters.AddWithValue("thread_key", threadKey);
        command.Parameters.AddWithValue("execution_id", executionId);
        command.Parameters.AddWithValue("type", type);
        command.Parameters.Add(new NpgsqlParameter("data", NpgsqlDbType.Jsonb) { Value = data.ToJsonString() });
        command.Parameters.Add(new NpgsqlParameter("raw", NpgsqlDbType.Jsonb) { Value = (object?)raw?.ToJsonString() ?? DBNull.Value });
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}
