using System.Text.Json.Nodes;
using Npgsql;
using NpgsqlTypes;

namespace Centaur.Api.Executions;

internal sealed record SideEffect(string Source, string Method, string Target, DateTimeOffset At);

internal sealed record Outcome(string State, string? Result = null, JsonObject? Error = null, JsonObject? Usage = null,
    IReadOnlyList<SideEffect>? Effects = null, long? FoldedInto = null);

/// <summary>
/// Ends an execution in one transaction: state, terminal event, transcript row, delivery outbox row and the cleared
/// inflight turn. Fenced by the lease: a worker that lost its execution to another cannot finish it.
/// </summary>
internal sealed class ExecutionFinisher(NpgsqlDataSource db, IConfiguration configuration)
{
    public async Task<bool> FinishAsync(ExecutionResponse execution, string owner, Outcome outcome, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await EventLog.LockThreadAsync(connection, transaction, execution.ThreadKey, cancellationToken);

        const string Update = """
            UPDATE agent_execution_requests
            SET state = @state, result_text = @result, error = @error::jsonb, usage = @usage::jsonb, finished_at = now(),
                lease_owner = NULL, lease_expires_at = NULL
            WHERE id = @id AND lease_owner = @owner AND state = 'running'
            """;
        await using (var update = new NpgsqlCommand(Update, connection, transaction))
        {
            update.Parameters.AddWithValue("id", execution.ExecutionId);
            update.Parameters.AddWithValue("owner", owner);
            update.Parameters.AddWithValue("state", outcome.State);
            update.Parameters.Add(new NpgsqlParameter<string?>("result", NpgsqlDbType.Text) { TypedValue = outcome.Result });
            update.Parameters.Add(new NpgsqlParameter<string?>("error", NpgsqlDbType.Text) { TypedValue = outcome.Error?.ToJsonString() });
            update.Parameters.Add(new NpgsqlParameter<string?>("usage", NpgsqlDbType.Text) { TypedValue = outcome.Usage?.ToJsonString() });
            if (await update.ExecuteNonQueryAsync(cancellationToken) != 1)
            {
                return false;
            }
        }

        var data = new JsonObject { ["state"] = outcome.State, ["result"] = outcome.Result };
        if (outcome.Error is not null)
        {
            data["error"] = outcome.Error.DeepClone();
        }

        if (outcome.Usage is not null)
        {
            data["usage"] = outcome.Usage.DeepClone();
        }

        if (outcome.Effects is { Count: > 0 } effects)
        {
            data["effects"] = new JsonArray([.. effects.Select(e => (JsonNode)new JsonObject
            {
                ["source"] = e.Source, ["method"] = e.Method, ["target"] = e.Target, ["at"] = e.At,
            })]);
        }

        if (outcome.FoldedInto is { } folded)
        {
            data["folded_into_execution_id"] = folded;
        }

        var eventId = await EventLog.InsertAsync(connection, transaction, execution.ThreadKey, execution.ExecutionId,
            EventTypes.ExecutionState, data, raw: null, cancellationToken);

        const string Rest = """
            INSERT INTO chat_messages (thread_key, role, text, execution_id)
            SELECT @thread_key, 'assistant', @result, @id WHERE @result IS NOT NULL AND @result <> '';
            INSERT INTO agent_final_delivery_outbox (execution_id, thread_key, client)
            SELECT @id, @thread_key, @client WHERE @deliver AND @folded = false
            ON CONFLICT (execution_id) DO NOTHING;
            UPDATE sandbox_sessions
            SET inflight_turn_id = NULL, inflight_execution_id = NULL, inflight_payload = NULL, inflight_started_at = NULL,
                state = CASE WHEN state = 'running' THEN 'ready' ELSE state END,
                last_result_cursor = @event_id, last_activity_at = now(), updated_at = now()
            WHERE thread_key = @thread_key AND (inflight_execution_id = @id OR inflight_execution_id IS NULL);
            SELECT pg_notify('centaur_executions', @thread_key);
            """;
        var client = Threads.ThreadKey.Source(execution.ThreadKey);
        await using (var rest = new NpgsqlCommand(Rest, connection, transaction))
        {
            rest.Parameters.AddWithValue("id", execution.ExecutionId);
            rest.Parameters.AddWithValue("thread_key", execution.ThreadKey);
            rest.Parameters.Add(new NpgsqlParameter<string?>("result", NpgsqlDbType.Text) { TypedValue = outcome.Result });
            rest.Parameters.AddWithValue("client", client);
            rest.Parameters.AddWithValue("deliver", DeliveryClients().Contains(client));
            rest.Parameters.AddWithValue("folded", outcome.FoldedInto is not null);
            rest.Parameters.AddWithValue("event_id", eventId);
            await rest.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public async Task<IReadOnlyList<SideEffect>> EffectsAsync(string threadKey, string turnId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("""
            SELECT source, method, target, created_at FROM side_effects
            WHERE thread_key = @thread_key AND turn_id = @turn_id ORDER BY id
            """);
        command.Parameters.AddWithValue("thread_key", threadKey);
        command.Parameters.AddWithValue("turn_id", turnId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var effects = new List<SideEffect>();
        while (await reader.ReadAsync(cancellationToken))
        {
            effects.Add(new SideEffect(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3)));
        }

        return effects;
    }

    /// <summary>Thread sources whose final answers go through the outbox (Deliveries:Clients; "slack" by default).</summary>
    private HashSet<string> DeliveryClients() =>
        [.. (configuration["Deliveries:Clients"] ?? "slack").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
}
