using System.Diagnostics;
using Npgsql;

namespace Centaur.Api.Tools;

/// <summary>One tool_calls row per call that named a valid tool and method, whatever its outcome (ok, unknown,
/// not_allowed, bad_arguments, error, or the code of the tool's own failure).</summary>
internal sealed class ToolAudit(NpgsqlDataSource db, string threadKey, string sandboxId, string tool, string method)
{
    public async Task WriteAsync(string outcome, (long? ExecutionId, string? TurnId)? turn, long startedTimestamp)
    {
        const string Sql = """
            INSERT INTO tool_calls (thread_key, sandbox_id, execution_id, turn_id, tool, method, outcome, duration_ms)
            SELECT @thread_key, @sandbox_id, coalesce(@execution_id, s.inflight_execution_id), coalesce(@turn_id, s.inflight_turn_id),
                   @tool, @method, @outcome, @duration_ms
            FROM (SELECT 1) one LEFT JOIN sandbox_sessions s ON s.thread_key = @thread_key
            """;
        await using var command = db.CreateCommand(Sql);
        command.Parameters.AddWithValue("thread_key", threadKey);
        command.Parameters.AddWithValue("sandbox_id", sandboxId);
        command.Parameters.Add(new NpgsqlParameter<long?>("execution_id", NpgsqlTypes.NpgsqlDbType.Bigint) { TypedValue = turn?.ExecutionId });
        command.Parameters.Add(new NpgsqlParameter<string?>("turn_id", NpgsqlTypes.NpgsqlDbType.Text) { TypedValue = turn?.TurnId });
        command.Parameters.AddWithValue("tool", tool);
        command.Parameters.AddWithValue("method", method);
        command.Parameters.AddWithValue("outcome", outcome);
        command.Parameters.AddWithValue("duration_ms", Stopwatch.GetElapsedTime(startedTimestamp).TotalMilliseconds);
        // Written even when the caller went away: the audit must not depend on the client waiting.
        await command.ExecuteNonQueryAsync(CancellationToken.None);
    }
}
