using Npgsql;

namespace Centaur.Api.Tools;

/// <summary>What the gateway knows about the thread behind a sandbox token: its persona and who asked for the turn in flight.</summary>
internal sealed record CallerInfo(string? Persona, string? Author)
{
    public static async Task<CallerInfo> LoadAsync(NpgsqlDataSource db, string threadKey, CancellationToken cancellationToken)
    {
        const string Sql = """
            SELECT a.persona,
                   (SELECT m.author FROM agent_message_requests m
                    WHERE m.thread_key = a.thread_key AND m.execution_id = s.inflight_execution_id
                    ORDER BY m.id DESC LIMIT 1)
            FROM agent_runtime_assignments a LEFT JOIN sandbox_sessions s USING (thread_key)
            WHERE a.thread_key = @thread_key
            """;
        await using var command = db.CreateCommand(Sql);
        command.Parameters.AddWithValue("thread_key", threadKey);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new CallerInfo(reader.IsDBNull(0) ? null : reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1))
            : new CallerInfo(null, null);
    }
}
