using System.Threading.Channels;

namespace Centaur.Slack;

/// <summary>Wakes a background loop at once; its poll interval still covers work written by other replicas.</summary>
internal abstract class WakeSignal
{
    private readonly Channel<bool> _channel = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public void Wake() => _channel.Writer.TryWrite(true);

    /// <summary>Returns when woken or when the timeout passes, whichever is first.</summary>
    public async Task WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        using var timer = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        try
        {
            await _channel.Reader.ReadAsync(linked.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The poll interval elapsed.
        }
    }
}

/// <summary>A delivery was stored in the inbox.</summary>
internal sealed class InboxSignal : WakeSignal;

/// <summary>An execution reached its terminal state; its final answer is waiting in the outbox.</summary>
internal sealed class DeliverySignal : WakeSignal;
