using Npgsql;

namespace Centaur.Slack.Replies;

/// <summary>The adapter's delivery bookkeeping in Postgres: turns keyed on the Slack message, replies, and their parts.</summary>
internal sealed class ReplyStore(NpgsqlDataSource dataSource)
{
    private const string RecordTurnSql = """
        INSERT INTO slack_turns (client_message_id, thread_key, channel, message_ts, user_id)
        VALUES (@id, @thread_key, @channel, @ts, @user)
        ON CONFLICT (client_message_id) DO NOTHING
        """;

    private const string TurnExecutionSql = "SELECT execution_id FROM slack_turns WHERE client_message_id = @id";

    private const string SetTurnExecutionSql = """
        UPDATE slack_turns SET execution_id = @execution_id WHERE thread_key = @thread_key AND execution_id IS NULL AND created_at <= (
            SELECT created_at FROM slack_turns WHERE client_message_id = @id)
        """;

    private const string WaitingTurnsSql = """
        SELECT client_message_id, message_ts, user_id FROM slack_turns WHERE thread_key = @thread_key AND execution_id IS NULL AND folded ORDER BY created_at
        """;

    private const string LastTurnSql = """
        SELECT message_ts FROM slack_turns WHERE thread_key = @thread_key AND client_message_id <> @id AND execution_id IS NOT NULL
        ORDER BY created_at DESC LIMIT 1
        """;

    private const string FoldSql = "UPDATE slack_turns SET folded = true WHERE client_message_id = @id AND execution_id IS NULL";

    private const string CreateReplySql = """
        INSERT INTO slack_replies (execution_id, thread_key, channel, thread_ts, trigger_ts, recipient_user)
        VALUES (@execution_id, @thread_key, @channel, @thread_ts, @trigger_ts, @recipient_user)
        ON CONFLICT (execution_id) DO NOTHING
        """;

    private const string ReplyColumns = """
        execution_id, thread_key, channel, thread_ts, trigger_ts, mode, sse_cursor, live_text, live_pending, activity, live_ts, live_part, state, final_ref,
        streamed_chars, stream_part_start, recipient_user
        """;

    private const string GetReplySql = $"SELECT {ReplyColumns} FROM slack_replies WHERE execution_id = @execution_id";

    private const string OpenRepliesSql = $"SELECT {ReplyColumns} FROM slack_replies WHERE state <> 'delivered' ORDER BY execution_id";

    private const string RunningInThreadSql = """
        SELECT execution_id FROM slack_replies WHERE thread_key = @thread_key AND state = 'streaming' ORDER BY execution_id DESC LIMIT 1
        """;

    private const string SaveLiveSql = """
        UPDATE slack_replies SET sse_cursor = @cursor, live_text = @text, live_pending = @pending, activity = @activity,
            live_ts = @live_ts, live_part = @live_part, mode = @mode, streamed_chars = @streamed, stream_part_start = @part_start,
            updated_at = now()
        WHERE execution_id = @execution_id AND state <> 'delivered'
        """;

    private const string IsDeliveredSql = "SELECT state = 'delivered' FROM slack_replies WHERE execution_id = @execution_id";

    private const string SetStateSql = "UPDATE slack_replies SET state = @state, updated_at = now() WHERE execution_id = @execution_id AND state <> 'delivered'";

    private const string DeliveredSql = """
        UPDATE slack_replies SET state = 'delivered', final_ref = @ref, updated_at = now() WHERE execution_id = @execution_id
        """;

    private const string PartsSql = "SELECT part, ts FROM slack_reply_parts WHERE execution_id = @execution_id ORDER BY part";

    private const string PartIntentSql = """
        INSERT INTO slack_reply_parts (execution_id, part) VALUES (@execution_id, @part) ON CONFLICT DO NOTHING
        """;

    private const string PartPostedSql = "UPDATE slack_reply_parts SET ts = @ts WHERE execution_id = @execution_id AND part = @part";

    public async Task<bool> RecordTurnAsync(string clientMessageId, string threadKey, string channel, string ts, string user, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(RecordTurnSql);
        command.Parameters.AddWithValue("id", clientMessageId);
        command.Parameters.AddWithValue("thread_key", threadKey);
        command.Parameters.AddWithValue("channel", channel);
        command.Parameters.AddWithValue("ts", ts);
        command.Parameters.AddWithValue("user", user);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<long?> TurnExecutionAsync(string clientMessageId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(TurnExecutionSql);
        command.Parameters.AddWithValue("id", clientMessageId);
        return await command.ExecuteScalarAsync(cancellationToken) is long id ? id : null;
    }

    /// <summary>The execution consumes this turn and every turn of the thread that waited before it.</summary>
    public async Task SetTurnExecutionAsync(string threadKey, string clientMessageId, long executionId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SetTurnExecutionSql);
        command.Parameters.AddWithValue("thread_key", threadKey);
        command.Parameters.AddWithValue("id", clientMessageId);
        command.Parameters.AddWithValue("execution_id", executionId);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<(string ClientMessageId, string Ts, string User)>> WaitingTurnsAsync(string threadKey, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(WaitingTurnsSql);
        command.Parameters.AddWithValue("thread_key", threadKey);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var turns = new List<(string, string, string)>();
        while (await reader.ReadAsync(cancellationToken))
        {
            turns.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2)));
        }

        return turns;
    }

    /// <summary>
    /// The message reached the API while another turn ran and waits for the next one. Only folded turns are picked
    /// up after a delivery: a turn that is still being started must not be executed by someone else.
    /// </summary>
    public async Task MarkFoldedAsync(string clientMessageId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(FoldSql);
        command.Parameters.AddWithValue("id", clientMessageId);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The ts of the thread's previous turn (its context window starts after it).</summary>
    public async Task<string?> LastTurnTsAsync(string threadKey, string exceptTs, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(LastTurnSql);
        command.Parameters.AddWithValue("thread_key", threadKey);
        var (channel, _) = ThreadKeys.Parse(threadKey);
        command.Parameters.AddWithValue("id", ThreadKeys.ClientMessageId(channel, exceptTs));
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }

    public async Task<bool> CreateReplyAsync(long executionId, string threadKey, string channel, string threadTs, string? triggerTs, string? recipientUser, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(CreateReplySql);
        command.Parameters.AddWithValue("execution_id", executionId);
        command.Parameters.AddWithValue("thread_key", threadKey);
        command.Parameters.AddWithValue("channel", channel);
        command.Parameters.AddWithValue("thread_ts", threadTs);
        command.Parameters.AddWithValue("trigger_ts", (object?)triggerTs ?? DBNull.Value);
        command.Parameters.AddWithValue("recipient_user", (object?)recipientUser ?? DBNull.Value);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<ReplyRow?> GetReplyAsync(long executionId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(GetReplySql);
        command.Parameters.AddWithValue("execution_id", executionId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadReply(reader) : null;
    }

    public async Task<IReadOnlyList<ReplyRow>> OpenRepliesAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(OpenRepliesSql);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<ReplyRow>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(ReadReply(reader));
        }

        return rows;
    }

    public async Task<long?> RunningExecutionAsync(string threadKey, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(RunningInThreadSql);
        command.Parameters.AddWithValue("thread_key", threadKey);
        return await command.ExecuteScalarAsync(cancellationToken) is long id ? id : null;
    }

    /// <summary>The cursor and the text it produced are saved together, so a restart resumes exactly there.</summary>
    public async Task SaveLiveAsync(long executionId, LiveState live, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SaveLiveSql);
        command.Parameters.AddWithValue("execution_id", executionId);
        command.Parameters.AddWithValue("cursor", live.Cursor);
        command.Parameters.AddWithValue("text", live.Committed);
        command.Parameters.AddWithValue("pending", live.Pending);
        command.Parameters.AddWithValue("activity", (object?)live.Activity ?? DBNull.Value);
        command.Parameters.AddWithValue("live_ts", (object?)live.LiveTs ?? DBNull.Value);
        command.Parameters.AddWithValue("live_part", live.LivePart);
        command.Parameters.AddWithValue("mode", live.Mode);
        command.Parameters.AddWithValue("streamed", live.StreamedChars);
        command.Parameters.AddWithValue("part_start", live.StreamPartStart);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<bool> IsDeliveredAsync(long executionId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(IsDeliveredSql);
        command.Parameters.AddWithValue("execution_id", executionId);
        return await command.ExecuteScalarAsync(cancellationToken) is true;
    }

    public async Task SetStateAsync(long executionId, string state, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(SetStateSql);
        command.Parameters.AddWithValue("execution_id", executionId);
        command.Parameters.AddWithValue("state", state);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task MarkDeliveredAsync(long executionId, string finalRef, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(DeliveredSql);
        command.Parameters.AddWithValue("execution_id", executionId);
        command.Parameters.AddWithValue("ref", finalRef);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<SortedDictionary<int, string?>> PartsAsync(long executionId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(PartsSql);
        command.Parameters.AddWithValue("execution_id", executionId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var parts = new SortedDictionary<int, string?>();
        while (await reader.ReadAsync(cancellationToken))
        {
            parts[reader.GetInt32(0)] = reader.IsDBNull(1) ? null : reader.GetString(1);
        }

        return parts;
    }

    public async Task RecordPartIntentAsync(long executionId, int part, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(PartIntentSql);
        command.Parameters.AddWithValue("execution_id", executionId);
        command.Parameters.AddWithValue("part", part);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task RecordPartPostedAsync(long executionId, int part, string ts, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(PartPostedSql);
        command.Parameters.AddWithValue("execution_id", executionId);
        command.Parameters.AddWithValue("part", part);
        command.Parameters.AddWithValue("ts", ts);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static ReplyRow ReadReply(NpgsqlDataReader reader) => new(
        reader.GetInt64(0),
        reader.GetString(1),
        reader.GetString(2),
        reader.GetString(3),
        reader.IsDBNull(4) ? null : reader.GetString(4),
        new LiveState
        {
            Mode = reader.GetString(5),
            Cursor = reader.GetInt64(6),
            Committed = reader.GetString(7),
            Pending = reader.GetString(8),
            Activity = reader.IsDBNull(9) ? null : reader.GetString(9),
            LiveTs = reader.IsDBNull(10) ? null : reader.GetString(10),
            LivePart = reader.GetInt32(11),
            StreamedChars = reader.GetInt32(14),
            StreamPartStart = reader.GetInt32(15),
        },
        reader.GetString(12),
        reader.IsDBNull(13) ? null : reader.GetString(13),
        reader.IsDBNull(16) ? null : reader.GetString(16));
}

internal sealed record ReplyRow(
    long ExecutionId, string ThreadKey, string Channel, string ThreadTs, string? TriggerTs, LiveState Live, string State, string? FinalRef, string? RecipientUser);

/// <summary>What a reply shows right now, rebuilt from the events up to Cursor.</summary>
internal sealed class LiveState
{
    public string Mode { get; set; } = "update";

    public long Cursor { get; set; }

    public string Committed { get; set; } = "";

    public string Pending { get; set; } = "";

    public string? Activity { get; set; }

    public string? LiveTs { get; set; }

    public int LivePart { get; set; }

    /// <summary>Stream mode: how much of <see cref="Markdown"/> chat.startStream/appendStream have sent so far.</summary>
    public int StreamedChars { get; set; }

    /// <summary>Stream mode: the offset in <see cref="Markdown"/> where the current stream message begins.</summary>
    public int StreamPartStart { get; set; }

    /// <summary>Stream mode: the Stop controls message is known to exist (in memory only; checked once after a restart).</summary>
    public bool ControlsShown { get; set; }

    public string Markdown => Pending.Length == 0 ? Committed : Committed.Length == 0 ? Pending : Committed + "\n\n" + Pending;
}
