using System.Threading.Channels;
using Npgsql;
using NpgsqlTypes;

namespace Centaur.Slack.Inbound;

/// <summary>
/// Group commit for the inbox: deliveries that arrive together are written by one INSERT in one transaction, and
/// each request is answered only after that commit. Under load this turns one WAL flush per Slack request into one
/// per batch, which is what keeps the acknowledgement fast (bench/slack).
/// </summary>
internal sealed class InboxWriter(NpgsqlDataSource dataSource, InboxSignal signal, ILogger<InboxWriter> logger) : BackgroundService
{
    private const int MaxBatch = 256;

    private const string InsertSql = """
        INSERT INTO slack_inbox (delivery_id, kind, transport, payload, retry_num, traceparent)
        SELECT * FROM unnest(@delivery_ids, @kinds, @transports, @payloads, @retry_nums, @traceparents)
        ON CONFLICT (delivery_id) DO NOTHING
        RETURNING delivery_id
        """;

    private readonly Channel<PendingDelivery> _queue = Channel.CreateUnbounded<PendingDelivery>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Completes once the delivery is committed: true when it is new, false when it was already stored.</summary>
    public Task<bool> WriteAsync(string deliveryId, InboxKind kind, string transport, string payloadJson, int retryNum, CancellationToken cancellationToken)
    {
        var pending = new PendingDelivery(deliveryId, kind.ToString().ToLowerInvariant(), transport, payloadJson, retryNum, System.Diagnostics.Activity.Current?.Id);
        return _queue.Writer.TryWrite(pending)
            ? pending.Stored.Task.WaitAsync(cancellationToken)
            : Task.FromException<bool>(new InvalidOperationException("the inbox writer has stopped"));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<PendingDelivery>(MaxBatch);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                batch.Clear();
                while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var pending))
                {
                    batch.Add(pending);
                }

                await WriteBatchAsync(batch, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            _queue.Writer.TryComplete();
            while (_queue.Reader.TryRead(out var left))
            {
                left.Stored.TrySetException(new InvalidOperationException("the inbox writer has stopped"));
            }
        }
    }

    private async Task WriteBatchAsync(List<PendingDelivery> batch, CancellationToken stoppingToken)
    {
        try
        {
            await using var command = dataSource.CreateCommand(InsertSql);
            command.Parameters.Add(new NpgsqlParameter("delivery_ids", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = batch.Select(p => p.DeliveryId).ToArray() });
            command.Parameters.Add(new NpgsqlParameter("kinds", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = batch.Select(p => p.Kind).ToArray() });
            command.Parameters.Add(new NpgsqlParameter("transports", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = batch.Select(p => p.Transport).ToArray() });
            command.Parameters.Add(new NpgsqlParameter("payloads", NpgsqlDbType.Array | NpgsqlDbType.Jsonb) { Value = batch.Select(p => p.PayloadJson).ToArray() });
            command.Parameters.Add(new NpgsqlParameter("retry_nums", NpgsqlDbType.Array | NpgsqlDbType.Integer) { Value = batch.Select(p => p.RetryNum).ToArray() });
            command.Parameters.Add(new NpgsqlParameter("traceparents", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = batch.Select(p => (object?)p.TraceParent ?? DBNull.Value).ToArray() });
            var inserted = new HashSet<string>(StringComparer.Ordinal);
            await using (var reader = await command.ExecuteReaderAsync(stoppingToken))
            {
                while (await reader.ReadAsync(stoppingToken))
                {
                    inserted.Add(reader.GetString(0));
                }
            }

            // The same delivery twice in one batch (two sockets, a fast retry): only the first one is new.
            foreach (var pending in batch)
            {
                pending.Stored.TrySetResult(inserted.Remove(pending.DeliveryId));
            }

            signal.Wake();
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or OperationCanceledException)
        {
            // Each request answers 5xx (or its socket does not ack), so Slack delivers it again.
            logger.InboxWriteFailed(ex, batch.Count);
            foreach (var pending in batch)
            {
                pending.Stored.TrySetException(ex);
            }
        }
    }

    private sealed record PendingDelivery(string DeliveryId, string Kind, string Transport, string PayloadJson, int RetryNum, string? TraceParent)
    {
        public TaskCompletionSource<bool> Stored { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
