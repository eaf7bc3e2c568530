using System.Text.Json.Nodes;
using Npgsql;
using NpgsqlTypes;

namespace Centaur.Api.Sandboxes;

internal sealed record SessionRow(
    string ThreadKey, string Backend, string? SandboxId, string State, string Harness, string? Persona, string? Repo,
    int AssignmentGeneration, int? SandboxGeneration, string? InflightTurnId, long? InflightExecutionId,
    JsonObject? InflightPayload, int Attempts, string? HarnessSessionId, DateTimeOffset LastActivityAt);

/// <summary>sandbox_sessions: the binding of a thread to its sandbox, and the inflight turn that replay relies on.</summary>
internal sealed class SandboxSessionStore(NpgsqlDataSource db)
{
    private const string Select = """
        SELECT s.thread_key, s.backend, s.sandbox_id, s.state, a.harness, a.persona, a.repo, a.assignment_generation,
               s.sandbox_generation, s.inflight_turn_id, s.inflight_execution_id, s.inflight_payload::text, s.attempts,
               s.harness_session_id, s.last_activity_at
        FROM sandbox_sessions s JOIN agent_runtime_assignments a USING (thread_key)
        """;

    public async Task<SessionRow?> GetAsync(string threadKey, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand(Select + " WHERE s.thread_key = @thread_key");
        command.Parameters.AddWithValue("thread_key", threadKey);
        var rows = await ReadAsync(command, cancellationToken);
        return rows.Count > 0 ? rows[0] : null;
    }

    public async Task<IReadOnlyList<SessionRow>> ListLiveAsync(CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand(Select + " WHERE s.sandbox_id IS NOT NULL AND s.state IN ('spawning', 'ready', 'running') ORDER BY s.last_activity_at");
        return await ReadAsync(command, cancellationToken);
    }

    public async Task<IReadOnlyList<SessionRow>> ListWithInflightAsync(CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand(Select + " WHERE s.inflight_turn_id IS NOT NULL");
        return await ReadAsync(command, cancellationToken);
    }

    public Task SetStateAsync(string threadKey, string state, CancellationToken cancellationToken) =>
        ExecuteAsync("UPDATE sandbox_sessions SET state = @state, updated_at = now() WHERE thread_key = @thread_key",
            cancellationToken, ("thread_key", threadKey), ("state", state));

    public Task BindAsync(string threadKey, string sandboxId, int generation, CancellationToken cancellationToken) =>
        ExecuteAsync("""
            UPDATE sandbox_sessions SET sandbox_id = @sandbox_id, sandbox_generation = @generation, state = 'ready',
                   last_activity_at = now(), updated_at = now()
            WHERE thread_key = @thread_key
            """, cancellationToken, ("thread_key", threadKey), ("sandbox_id", sandboxId), ("generation", generation));

    /// <summary>The sandbox is gone: forget it, keep the inflight turn (replay needs it).</summary>
    public Task MarkGoneAsync(string threadKey, string sandboxId, string state, CancellationToken cancellationToken) =>
        ExecuteAsync("""
            UPDATE sandbox_sessions SET sandbox_id = NULL, sandbox_generation = NULL, state = @state, updated_at = now()
            WHERE thread_key = @thread_key AND sandbox_id = @sandbox_id
            """, cancellationToken, ("thread_key", threadKey), ("sandbox_id", sandboxId), ("state", state));

    /// <summary>Stored BEFORE the turn is written to the sandbox's stdin.</summary>
    public Task StoreInflightAsync(string threadKey, long executionId, string turnId, JsonObject payload, CancellationToken cancellationToken) =>
        ExecuteAsync("""
            UPDATE sandbox_sessions SET inflight_turn_id = @turn_id, inflight_execution_id = @execution_id,
                   inflight_payload = @payload::jsonb, inflight_started_at = now(), attempts = 1,
                   last_activity_at = now(), updated_at = now()
            WHERE thread_key = @thread_key
            """, cancellationToken, ("thread_key", threadKey), ("execution_id", executionId), ("turn_id", turnId),
            ("payload", payload.ToJsonString()));

    public async Task<int> IncrementAttemptsAsync(string threadKey, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand(
            "UPDATE sandbox_sessions SET attempts = attempts + 1, updated_at = now() WHERE thread_key = @thread_key RETURNING attempts");
        command.Parameters.AddWithValue("thread_key", threadKey);
        return (int)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public Task SetHarnessSessionAsync(string threadKey, string sessionId, CancellationToken cancellationToken) =>
        ExecuteAsync("UPDATE sandbox_sessions SET harness_session_id = @session_id WHERE thread_key = @thread_key",
            cancellationToken, ("thread_key", threadKey), ("session_id", sessionId));

    public Task ClearInflightAsync(string threadKey, long executionId, CancellationToken cancellationToken) =>
        ExecuteAsync("""
            UPDATE sandbox_sessions SET inflight_turn_id = NULL, inflight_execution_id = NULL, inflight_payload = NULL,
                   inflight_started_at = NULL, state = CASE WHEN state = 'running' THEN 'ready' ELSE state END,
                   last_activity_at = now(), updated_at = now()
            WHERE thread_key = @thread_key AND inflight_execution_id = @execution_id
            """, cancellationToken, ("thread_key", threadKey), ("execution_id", executionId));

    private async Task ExecuteAsync(string sql, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await using var command = db.CreateCommand(sql);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<IReadOnlyList<SessionRow>> ReadAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        await using var r = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<SessionRow>();
        while (await r.ReadAsync(cancellationToken))
        {
            rows.Add(new SessionRow(r.GetString(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.GetString(3),
                r.GetString(4), r.IsDBNull(5) ? null : r.GetString(5), r.IsDBNull(6) ? null : r.GetString(6), r.GetInt32(7),
                r.IsDBNull(8) ? null : r.GetInt32(8), r.IsDBNull(9) ? null : r.GetString(9), r.IsDBNull(10) ? null : r.GetInt64(10),
                r.IsDBNull(11) ? null : JsonNode.Parse(r.GetString(11))?.AsObject(), r.GetInt32(12),
                r.IsDBNull(13) ? null : r.GetString(13), r.GetFieldValue<DateTimeOffset>(14)));
        }

        return rows;
    }

    internal static NpgsqlParameter NullableText(string name, string? value) =>
        new NpgsqlParameter<string?>(name, NpgsqlDbType.Text) { TypedValue = value };
}
