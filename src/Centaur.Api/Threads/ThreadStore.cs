using Npgsql;
using NpgsqlTypes;

namespace Centaur.Api.Threads;

/// <summary>Runtime assignments, sessions, inbound messages and transcripts: plain SQL over the shared data source.</summary>
internal sealed class ThreadStore(NpgsqlDataSource db)
{
    /// <summary>
    /// Pins the thread (creating it on first use). Explicit harness/persona/repo values that differ from the pinned
    /// ones re-pin it: assignment_generation increments and the next turn gets a fresh sandbox.
    /// </summary>
    public async Task<SessionResponse> SpawnAsync(string threadKey, string? harness, string? persona, string? repo,
        string defaultHarness, string backend, CancellationToken cancellationToken)
    {
        const string Sql = """
            WITH pinned AS (
                INSERT INTO agent_runtime_assignments AS a (thread_key, harness, persona, repo, backend)
                VALUES (@thread_key, coalesce(@harness, @default_harness), @persona, @repo, @backend)
                ON CONFLICT (thread_key) DO UPDATE SET
                    harness = coalesce(@harness, a.harness),
                    persona = coalesce(@persona, a.persona),
                    repo = coalesce(@repo, a.repo),
                    assignment_generation = a.assignment_generation
                        + CASE WHEN (@harness IS NOT NULL AND @harness <> a.harness)
                                 OR (@persona IS NOT NULL AND @persona IS DISTINCT FROM a.persona)
                                 OR (@repo IS NOT NULL AND @repo IS DISTINCT FROM a.repo) THEN 1 ELSE 0 END,
                    updated_at = now()
                RETURNING thread_key, harness, persona, repo, backend, assignment_generation
            )
            INSERT INTO sandbox_sessions AS s (thread_key, backend, harness, persona)
            SELECT thread_key, backend, harness, persona FROM pinned
            ON CONFLICT (thread_key) DO UPDATE SET harness = excluded.harness, persona = excluded.persona, updated_at = now()
            RETURNING thread_key
            """;
        await using (var command = db.CreateCommand(Sql))
        {
            command.Parameters.AddWithValue("thread_key", threadKey);
            command.Parameters.Add(new NpgsqlParameter<string?>("harness", NpgsqlDbType.Text) { TypedValue = harness });
            command.Parameters.AddWithValue("default_harness", defaultHarness);
            command.Parameters.Add(new NpgsqlParameter<string?>("persona", NpgsqlDbType.Text) { TypedValue = persona });
            command.Parameters.Add(new NpgsqlParameter<string?>("repo", NpgsqlDbType.Text) { TypedValue = repo });
            command.Parameters.AddWithValue("backend", backend);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        return (await GetSessionAsync(threadKey, cancellationToken))!;
    }

    public async Task<SessionResponse?> GetSessionAsync(string threadKey, CancellationToken cancellationToken)
    {
        const string Sql = """
            SELECT s.thread_key, s.state, s.backend, s.sandbox_id, a.harness, a.persona, a.repo,
                   a.assignment_generation, s.attempts, s.last_activity_at
            FROM sandbox_sessions s JOIN agent_runtime_assignments a USING (thread_key)
            WHERE s.thread_key = @thread_key
            """;
        await using var command = db.CreateCommand(Sql);
        command.Parameters.AddWithValue("thread_key", threadKey);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new SessionResponse(reader.GetString(0), reader.GetString(1), reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetString(4),
                reader.IsDBNull(5) ? null : reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetString(6),
                reader.GetInt32(7), reader.GetInt32(8), reader.GetFieldValue<DateTimeOffset>(9))
            : null;
    }

    public async Task<bool> ExistsAsync(string threadKey, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("SELECT 1 FROM agent_runtime_assignments WHERE thread_key = @thread_key");
        command.Parameters.AddWithValue("thread_key", threadKey);
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    /// <summary>Stores the message and its transcript row together; a repeated client_message_id returns the first one.</summary>
    public async Task<MessageResponse> AppendMessageAsync(MessageRequest request, CancellationToken cancellationToken)
    {
        const string Sql = """
            WITH inserted AS (
                INSERT INTO agent_message_requests (thread_key, client_message_id, author, text, attachments)
                VALUES (@thread_key, @client_message_id, @author, @text, @attachments)
                ON CONFLICT (thread_key, client_message_id) DO NOTHING
                RETURNING id, thread_key, author, text
            ), transcript AS (
                INSERT INTO chat_messages (thread_key, role, author, text, message_request_id)
                SELECT thread_key, 'user', author, text, id FROM inserted
            ), touched AS (
                UPDATE sandbox_sessions SET last_activity_at = now() WHERE thread_key = @thread_key AND EXISTS (SELECT 1 FROM inserted)
            )
            SELECT id, false FROM inserted
            UNION ALL
            SELECT id, true FROM agent_message_requests
            WHERE thread_key = @thread_key AND client_message_id = @client_message_id AND NOT EXISTS (SELECT 1 FROM inserted)
            """;
        await using var command = db.CreateCommand(Sql);
        command.Parameters.AddWithValue("thread_key", request.ThreadKey!);
        command.Parameters.AddWithValue("client_message_id", request.ClientMessageId!);
        command.Parameters.AddWithValue("author", request.Author!);
        command.Parameters.AddWithValue("text", request.Text!);
        command.Parameters.Add(new NpgsqlParameter("attachments", NpgsqlDbType.Jsonb) { Value = request.Attachments?.ToJsonString() ?? "[]" });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new MessageResponse(reader.GetInt64(0), request.ThreadKey!, reader.GetBoolean(1));
    }

    public async Task<IReadOnlyList<ThreadSummary>> ListAsync(int limit, string? source, CancellationToken cancellationToken)
    {
        const string Sql = """
            SELECT a.thread_key, a.harness, a.persona, s.state, e.state, e.id, s.last_activity_at, a.created_at
            FROM agent_runtime_assignments a
            JOIN sandbox_sessions s USING (thread_key)
            LEFT JOIN LATERAL (SELECT id, state FROM agent_execution_requests x
                               WHERE x.thread_key = a.thread_key ORDER BY id DESC LIMIT 1) e ON true
            WHERE @source::text IS NULL OR a.thread_key LIKE @source || ':%'
            ORDER BY s.last_activity_at DESC
            LIMIT @limit
            """;
        await using var command = db.CreateCommand(Sql);
        command.Parameters.AddWithValue("limit", limit);
        command.Parameters.Add(new NpgsqlParameter<string?>("source", NpgsqlDbType.Text) { TypedValue = source });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var threads = new List<ThreadSummary>();
        while (await reader.ReadAsync(cancellationToken))
        {
            threads.Add(new ThreadSummary(reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetInt64(5),
                reader.GetFieldValue<DateTimeOffset>(6), reader.GetFieldValue<DateTimeOffset>(7)));
        }

        return threads;
    }

    public async Task<IReadOnlyList<TranscriptMessage>> TranscriptAsync(string threadKey, CancellationToken cancellationToken)
    {
        const string Sql = """
            SELECT id, role, author, text, execution_id, created_at FROM chat_messages
            WHERE thread_key = @thread_key ORDER BY id
            """;
        await using var command = db.CreateCommand(Sql);
        command.Parameters.AddWithValue("thread_key", threadKey);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var messages = new List<TranscriptMessage>();
        while (await reader.ReadAsync(cancellationToken))
        {
            messages.Add(new TranscriptMessage(reader.GetInt64(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetInt64(4), reader.GetFieldValue<DateTimeOffset>(5)));
        }

        return messages;
    }
}
