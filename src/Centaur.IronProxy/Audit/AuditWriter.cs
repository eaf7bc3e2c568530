using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace Centaur.IronProxy.Audit;

/// <summary>
/// Drains the audit queue with binary COPY: rows gather for a moment after the first one, then go in batches, so a
/// busy proxy writes a few large COPYs a second instead of one per handful of rows. On stop it drains what is left.
/// </summary>
internal sealed class AuditWriter(NpgsqlDataSource dataSource, AuditLog audit, IOptions<IronProxyOptions> options, ILogger<AuditWriter> logger, TimeProvider time)
    : BackgroundService
{
    private const string CopySql = """
        COPY egress_audit (created_at, thread_key, sandbox_id, mode, method, scheme, host, port, path, status,
                           bytes_in, bytes_out, duration_ms, bindings, decision, reason) FROM STDIN (FORMAT BINARY)
        """;

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        audit.Complete();
        await base.StopAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batchSize = options.Value.AuditBatchSize;
        var gather = TimeSpan.FromMilliseconds(options.Value.AuditFlushMilliseconds);
        var batch = new List<AuditRecord>(batchSize);
        var failures = 0;
        // Not stoppingToken: on stop the queue is completed instead, and what it still holds is written.
        while (await audit.Reader.WaitToReadAsync(CancellationToken.None))
        {
            // Stopping ends the wait: what is left is written at once.
            await Task.Delay(gather, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            do
            {
                batch.Clear();
                while (batch.Count < batchSize && audit.Reader.TryRead(out var record))
                {
                    batch.Add(record);
                }

                try
                {
                    await WriteAsync(batch);
                    failures = 0;
                }
                catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
                {
                    audit.CountDropped(batch.Count);
                    logger.AuditWriteFailed(ex, batch.Count, audit.Dropped);
                    failures++;
                    if (!stoppingToken.IsCancellationRequested)
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(200 * Math.Min(failures, 25)), time, CancellationToken.None);
                    }

                    break;
                }
            }
            while (batch.Count == batchSize);
        }
    }

    private async Task WriteAsync(List<AuditRecord> batch)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var connection = await dataSource.OpenConnectionAsync(timeout.Token);
        await using var importer = await connection.BeginBinaryImportAsync(CopySql, timeout.Token);
        foreach (var r in batch)
        {
            await importer.StartRowAsync(timeout.Token);
            await importer.WriteAsync(r.CreatedAt, NpgsqlDbType.TimestampTz, timeout.Token);
            await WriteNullableAsync(importer, r.ThreadKey, timeout.Token);
            await WriteNullableAsync(importer, r.SandboxId, timeout.Token);
            await importer.WriteAsync(r.Mode, NpgsqlDbType.Text, timeout.Token);
            await importer.WriteAsync(r.Method, NpgsqlDbType.Text, timeout.Token);
            await importer.WriteAsync(r.Scheme, NpgsqlDbType.Text, timeout.Token);
            await importer.WriteAsync(r.Host, NpgsqlDbType.Text, timeout.Token);
            await importer.WriteAsync(r.Port, NpgsqlDbType.Integer, timeout.Token);
            await importer.WriteAsync(r.Path, NpgsqlDbType.Text, timeout.Token);
            await importer.WriteAsync(r.Status, NpgsqlDbType.Integer, timeout.Token);
            await importer.WriteAsync(r.BytesIn, NpgsqlDbType.Bigint, timeout.Token);
            await importer.WriteAsync(r.BytesOut, NpgsqlDbType.Bigint, timeout.Token);
            await importer.WriteAsync(r.DurationMs, NpgsqlDbType.Double, timeout.Token);
            await importer.WriteAsync(r.Bindings, NpgsqlDbType.Array | NpgsqlDbType.Text, timeout.Token);
            await importer.WriteAsync(r.Decision, NpgsqlDbType.Text, timeout.Token);
            await WriteNullableAsync(importer, r.Reason, timeout.Token);
        }

        await importer.CompleteAsync(timeout.Token);
    }

    private static Task WriteNullableAsync(NpgsqlBinaryImporter importer, string? value, CancellationToken cancellationToken) =>
        value is null ? importer.WriteNullAsync(cancellationToken) : importer.WriteAsync(value, NpgsqlDbType.Text, cancellationToken);
}
