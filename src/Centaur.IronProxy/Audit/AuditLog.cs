using System.Threading.Channels;
using Microsoft.Extensions.Options;

namespace Centaur.IronProxy.Audit;

/// <summary>
/// The hot path's side of the audit: a bounded queue. A full queue drops the row and counts it rather than slow
/// a request; <see cref="AuditWriter"/> drains it to Postgres in batches.
/// </summary>
internal sealed class AuditLog
{
    private readonly Channel<AuditRecord> _queue;
    private long _dropped;

    public AuditLog(IOptions<IronProxyOptions> options)
    {
        _queue = Channel.CreateBounded<AuditRecord>(
            new BoundedChannelOptions(options.Value.AuditQueueCapacity)
            {
                FullMode = BoundedChannelFullMode.DropWrite,
                SingleReader = true,
            },
            _ => Interlocked.Increment(ref _dropped));
    }

    public long Dropped => Interlocked.Read(ref _dropped);

    public ChannelReader<AuditRecord> Reader => _queue.Reader;

    public void Write(AuditRecord record) => _queue.Writer.TryWrite(record);

    public void CountDropped(int rows) => Interlocked.Add(ref _dropped, rows);

    public void Complete() => _queue.Writer.TryComplete();
}
