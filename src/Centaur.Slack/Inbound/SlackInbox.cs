using Npgsql;

namespace Centaur.Slack.Inbound;

/// <summary>
/// The durable inbox: a delivery is written here before Slack gets its acknowledgement, and processed afterwards.
/// The unique delivery_id (Slack's event_id) makes retried deliveries a no-op.
/// </summary>
internal sealed class SlackInbox(NpgsqlDataSource dataSource, InboxWriter writer)
{
    private const string ClaimSql = """
        UPDATE slack_inbox i SET attempts = i.attempts + 1, locked_until = now() + @lease
        WHERE i.id IN (
            SELECT id FROM slack_inbox
            WHERE processed_at IS NULL AND (locked_until IS NULL OR locked_until < now())
            ORDER BY id LIMIT @max
            FOR UPDATE SKIP LOCKED)
        RETURNING i.id, i.delivery_id, i.kind, i.payload::text, i.attempts, i.traceparent
        """;

    private const string CompleteSql = """
        UPDATE slack_inbox SET processed_at = now(), outcome = @outcome, locked_until = NULL WHERE id = @id
        """;

    private const string RetryLaterSql = """
        UPDATE slack_inbox SET locked_until = now() + @delay, outcome = @outcome WHERE id = @id
        """;

    /// <summary>Stores the delivery (committed when this returns); false when it was already stored (a retry or a second socket).</summary>
    public async Task<bool> StoreAsync(string deliveryId, InboxKind kind, string transport, string payloadJson, int retryNum, CancellationToken cancellationToken)
    {
        var stored = await writer.WriteAsync(deliveryId, kind, transport, payloadJson, retryNum, cancellationToken);
        SlackMetrics.Received(kind.ToString().ToLowerInvariant(), transport, retried: retryNum > 0, duplicate: !stored);
        return stored;
    }

    public async Task<IReadOnlyList<InboxItem>> ClaimAsync(int max, TimeSpan lease, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(ClaimSql);
        command.Parameters.AddWithValue("lease", lease);
        command.Parameters.AddWithValue("max", max);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var items = new List<InboxItem>();
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(new InboxItem(
                reader.GetInt64(0),
                reader.GetString(1),
                Enum.Parse<InboxKind>(reader.GetString(2), ignoreCase: true),
                reader.GetString(3),
                reader.GetInt32(4),
                reader.IsDBNull(5) ? null : reader.GetString(5)));
        }

        return items;
    }

    public async Task CompleteAsync(long id, string outcome, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(CompleteSql);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("outcome", outcome);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task RetryLaterAsync(long id, TimeSpan delay, string outcome, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(RetryLaterSql);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("delay", delay);
        command.Parameters.AddWithValue("outcome", outcome);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

internal enum InboxKind
{
    Event,
    Interactive,
    Command,
}

internal sealed record InboxItem(long Id, string DeliveryId, InboxKind Kind, string PayloadJson, int Attempts, string? TraceParent = null);
