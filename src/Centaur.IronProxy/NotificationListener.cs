using Npgsql;

namespace Centaur.IronProxy;

/// <summary>
/// The loop IronProxy's LISTENers share: open a connection, LISTEN on the channel, let the listener catch up, then
/// wait for notifications (or a quiet interval) until stopped; when the database fails, report it and reconnect with
/// capped exponential backoff and jitter, so a Postgres restart heals by itself.
/// </summary>
internal abstract class NotificationListener(NpgsqlDataSource dataSource, TimeProvider time) : BackgroundService
{
    protected abstract string Channel { get; }

    /// <summary>How long a wait lasts before <see cref="OnWaitedAsync"/> runs without a notification.</summary>
    protected abstract TimeSpan QuietInterval { get; }

    /// <summary>Runs on Npgsql's thread for each notification, before the wait it ends returns.</summary>
    protected abstract void OnNotification(string payload);

    /// <summary>LISTEN is in place: whatever changes from now on is notified.</summary>
    protected abstract Task OnListeningAsync(CancellationToken cancellationToken);

    /// <summary>After each wait; <paramref name="notified"/> is false when the quiet interval passed without one.</summary>
    protected abstract Task OnWaitedAsync(NpgsqlConnection connection, bool notified, CancellationToken cancellationToken);

    protected abstract void OnFailed(Exception exception, int attempt, TimeSpan retryIn);

    /// <summary>The failures worth a reconnect; anything else stops the service (and the process, see ServiceDefaults).</summary>
    protected virtual bool IsRetriable(Exception exception) => exception is NpgsqlException or TimeoutException or InvalidOperationException;

    protected sealed override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                connection.Notification += (_, e) => OnNotification(e.Payload);
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                await OnListeningAsync(stoppingToken);
                attempt = 0;
                while (!stoppingToken.IsCancellationRequested)
                {
                    var notified = await connection.WaitAsync(QuietInterval, stoppingToken);
                    await OnWaitedAsync(connection, notified, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (IsRetriable(ex))
            {
                var delay = TimeSpan.FromSeconds(Math.Pow(2, Math.Min(attempt, 5))) + TimeSpan.FromMilliseconds(Random.Shared.Next(1000));
                OnFailed(ex, attempt, delay);
                await Task.Delay(delay, time, stoppingToken);
            }
        }
    }
}
