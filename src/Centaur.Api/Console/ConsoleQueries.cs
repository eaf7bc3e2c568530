using System.Text.Json.Nodes;
using Npgsql;

namespace Centaur.Api.WebConsole;

/// <summary>
/// The read side of the web console: what an operator looks at, read straight from the control plane's tables.
/// The thread list, transcript, sessions and executions come from the stores the API endpoints use.
/// </summary>
internal sealed class ConsoleQueries(NpgsqlDataSource db)
{
    public async Task<ConsoleOverview> OverviewAsync(CancellationToken cancellationToken)
    {
        const string Sql = """
            SELECT count(*) FROM agent_runtime_assignments;
            SELECT state, count(*) FROM sandbox_sessions GROUP BY state;
            SELECT state, count(*) FROM agent_execution_requests
            WHERE state IN ('queued', 'running') OR created_at > now() - interval '24 hours' GROUP BY state;
            """;
        await using var command = db.CreateCommand(Sql);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var threads = reader.GetInt64(0);
        await reader.NextResultAsync(cancellationToken);
        var sandboxes = new SortedDictionary<string, long>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            sandboxes[reader.GetString(0)] = reader.GetInt64(1);
        }

        await reader.NextResultAsync(cancellationToken);
        var executions = new SortedDictionary<string, long>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            executions[reader.GetString(0)] = reader.GetInt64(1);
        }

        return new ConsoleOverview(threads, sandboxes, executions,
            executions.GetValueOrDefault("queued") + executions.GetValueOrDefault("running"));
    }

    /// <summary>
    /// Where the page's live stream starts: just before the first event of a queued or running execution (so the
    /// browser replays that turn into its live view), else after the newest event.
    /// </summary>
    public async Task<long> LiveCursorAsync(string threadKey, CancellationToken cancellationToken)
    {
        const string Sql = """
            SELECT coalesce(
                (SELECT min(ev.id) - 1 FROM agent_execution_events ev JOIN agent_execution_requests r ON r.id = ev.execution_id
                 WHERE r.thread_key = @thread_key AND r.state IN ('queued', 'running')),
                (SELECT max(id) FROM agent_execution_events WHERE thread_key = @thread_key),
                0)
            """;
        await using var command = db.CreateCommand(Sql);
        command.Parameters.AddWithValue("thread_key", threadKey);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>The newest events at or below the cursor, oldest first (deltas left out: the transcript has the text).</summary>
    public async Task<IReadOnlyList<ConsoleEvent>> EventsAsync(string threadKey, long upTo, int limit, CancellationToken cancellationToken)
    {
        const string Sql = """
            SELECT id, execution_id, type, data::text, created_at FROM agent_execution_events
            WHERE thread_key = @thread_key AND id <= @up_to AND type <> 'assistant_delta'
            ORDER BY id DESC LIMIT @limit
            """;
        await using var command = db.CreateCommand(Sql);
        command.Parameters.AddWithValue("thread_key", threadKey);
        command.Parameters.AddWithValue("up_to", upTo);
        command.Parameters.AddWithValue("limit", limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var events = new List<ConsoleEvent>();
        while (await reader.ReadAsync(cancellationToken))
        {
            events.Add(new ConsoleEvent(reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2),
                JsonNode.Parse(reader.GetString(3)) as JsonObject ?? [], reader.GetFieldValue<DateTimeOffset>(4)));
        }

        events.Reverse();
        return events;
    }

    public async Task<IReadOnlyList<ConsoleToolCall>> ToolCallsAsync(string threadKey, int limit, CancellationToken cancellationToken)
    {
        const string Sql = """
            SELECT id, tool, method, outcome, duration_ms, execution_id, turn_id, sandbox_id, created_at FROM tool_calls
            WHERE thread_key = @thread_key ORDER BY id DESC LIMIT @limit
            """;
        await using var command = db.CreateCommand(Sql);
        command.Parameters.AddWithValue("thread_key", threadKey);
        command.Parameters.AddWithValue("limit", limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var calls = new List<ConsoleToolCall>();
        while (await reader.ReadAsync(cancellationToken))
        {
            calls.Add(new ConsoleToolCall(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                reader.GetDouble(4), reader.IsDBNull(5) ? null : reader.GetInt64(5), reader.IsDBNull(6) ? null : reader.GetString(6),
                reader.GetString(7), reader.GetFieldValue<DateTimeOffset>(8)));
        }

        return calls;
    }

    public async Task<IReadOnlyList<ConsoleSideEffect>> SideEffectsAsync(string threadKey, int limit, CancellationToken cancellationToken)
    {
        const string Sql = """
            SELECT id, source, method, target, execution_id, turn_id, created_at FROM side_effects
            WHERE thread_key = @thread_key ORDER BY id DESC LIMIT @limit
            """;
        await using var command = db.CreateCommand(Sql);
        command.Parameters.AddWithValue("thread_key", threadKey);
        command.Parameters.AddWithValue("limit", limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var effects = new List<ConsoleSideEffect>();
        while (await reader.ReadAsync(cancellationToken))
        {
            effects.Add(new ConsoleSideEffect(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetInt64(4), reader.IsDBNull(5) ? null : reader.GetString(5), reader.GetFieldValue<DateTimeOffset>(6)));
        }

        return effects;
    }

    /// <summary>IronProxy's audit of the thread's egress; null when this database has no egress_audit table (no proxy migration).</summary>
    public async Task<IReadOnlyList<ConsoleEgress>?> EgressAsync(string threadKey, int limit, CancellationToken cancellationToken)
    {
        await using (var exists = db.CreateCommand("SELECT to_regclass('egress_audit') IS NOT NULL"))
        {
            if (!(bool)(await exists.ExecuteScalarAsync(cancellationToken))!)
            {
                return null;
            }
        }

        const string Sql = """
            SELECT id, created_at, method, host, port, path, status, decision, reason, bindings, bytes_in, bytes_out, duration_ms
            FROM egress_audit WHERE thread_key = @thread_key ORDER BY id DESC LIMIT @limit
            """;
        await using var command = db.CreateCommand(Sql);
        command.Parameters.AddWithValue("thread_key", threadKey);
        command.Parameters.AddWithValue("limit", limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<ConsoleEgress>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new ConsoleEgress(reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetString(2), reader.GetString(3),
                reader.GetInt32(4), reader.GetString(5), reader.GetInt32(6), reader.GetString(7), reader.IsDBNull(8) ? null : reader.GetString(8),
                reader.GetFieldValue<string[]>(9), reader.GetInt64(10), reader.GetInt64(11), reader.GetDouble(12)));
        }

        return rows;
    }
}
