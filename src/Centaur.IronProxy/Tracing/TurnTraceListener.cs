using Npgsql;

namespace Centaur.IronProxy.Tracing;

/// <summary>
/// LISTENs on 'centaur_turn_trace' (migration 0012: a thread's execution changed state or got its turn's trace
/// context) and drops that thread's cached answer in <see cref="TurnTraces"/>. Reconnects with backoff; while it is
/// disconnected the cache keeps answers for seconds only.
/// </summary>
internal sealed class TurnTraceListener(NpgsqlDataSource dataSource, TurnTraces traces, ILogger<TurnTraceListener> logger, TimeProvider time)
    : BackgroundService
{
    public const string Channel = "centaur_turn_trace";

    private static readonly TimeSpan s_probe = TimeSpan.FromSeconds(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                connection.Notification += (_, e) => traces.Invalidate(e.Payload);
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                traces.ListenerChanged(notified: true);
                attempt = 0;
                while (!stoppingToken.IsCancellationRequested)
                {
                    // A quiet connection is probed now and then: a dead one would otherwise keep stale answers.
                    if (!await connection.WaitAsync(s_probe, stoppingToken))
                    {
                        await using var probe = new NpgsqlCommand("SELECT 1", connection);
                        await probe.ExecuteScalarAsync(stoppingToken);
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
            {
                traces.ListenerChanged(notified: false);
                var delay = TimeSpan.FromSeconds(Math.Pow(2, Math.Min(attempt, 5))) + TimeSpan.FromMilliseconds(Random.Shared.Next(1000));
                logger.TurnTraceListenerFailed(ex, attempt, delay);
                await Task.Delay(delay, time, stoppingToken);
            }
        }
    }
}
