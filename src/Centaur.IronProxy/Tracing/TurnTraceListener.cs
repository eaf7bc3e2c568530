using Npgsql;

namespace Centaur.IronProxy.Tracing;

/// <summary>
/// LISTENs on 'centaur_turn_trace' (migration 0012: a thread's execution changed state or got its turn's trace
/// context) and drops that thread's cached answer in <see cref="TurnTraces"/>. While it is disconnected the cache
/// keeps answers for seconds only.
/// </summary>
internal sealed class TurnTraceListener(NpgsqlDataSource dataSource, TurnTraces traces, ILogger<TurnTraceListener> logger, TimeProvider time)
    : NotificationListener(dataSource, time)
{
    protected override string Channel => "centaur_turn_trace";

    protected override TimeSpan QuietInterval => TimeSpan.FromSeconds(30);

    protected override void OnNotification(string payload) => traces.Invalidate(payload);

    protected override Task OnListeningAsync(CancellationToken cancellationToken)
    {
        traces.ListenerChanged(notified: true);
        return Task.CompletedTask;
    }

    protected override async Task OnWaitedAsync(NpgsqlConnection connection, bool notified, CancellationToken cancellationToken)
    {
        // A quiet connection is probed now and then: a dead one would otherwise keep stale answers.
        if (!notified)
        {
            await using var probe = new NpgsqlCommand("SELECT 1", connection);
            await probe.ExecuteScalarAsync(cancellationToken);
        }
    }

    protected override void OnFailed(Exception exception, int attempt, TimeSpan retryIn)
    {
        traces.ListenerChanged(notified: false);
        logger.TurnTraceListenerFailed(exception, attempt, retryIn);
    }
}
