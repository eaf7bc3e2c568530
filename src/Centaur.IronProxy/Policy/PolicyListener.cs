using Npgsql;

namespace Centaur.IronProxy.Policy;

/// <summary>
/// Loads the policy at start, then LISTENs on 'centaur_egress_policy' and reloads on every change; a periodic
/// version check covers notifications lost while the connection was down.
/// </summary>
internal sealed class PolicyListener(
    NpgsqlDataSource dataSource, PolicyLoader loader, PolicyStore store, ILogger<PolicyListener> logger, TimeProvider time)
    : BackgroundService
{
    public const string Channel = "centaur_egress_policy";

    private static readonly TimeSpan s_recheck = TimeSpan.FromSeconds(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                var changed = 0;
                connection.Notification += (_, _) => Interlocked.Exchange(ref changed, 1);
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                // Listening before loading: a change committed in between is either in this load or notified.
                await ReloadAsync(stoppingToken);
                attempt = 0;
                while (!stoppingToken.IsCancellationRequested)
                {
                    var notified = await connection.WaitAsync(s_recheck, stoppingToken);
                    if (notified || Interlocked.Exchange(ref changed, 0) == 1 || await VersionChangedAsync(connection, stoppingToken))
                    {
                        Interlocked.Exchange(ref changed, 0);
                        await ReloadAsync(stoppingToken);
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException or FormatException or System.Security.Cryptography.CryptographicException)
            {
                store.ReportFailure(ex.Message);
                var delay = TimeSpan.FromSeconds(Math.Pow(2, Math.Min(attempt, 5))) + TimeSpan.FromMilliseconds(Random.Shared.Next(1000));
                logger.PolicyLoadFailed(ex, attempt, delay);
                await Task.Delay(delay, time, stoppingToken);
            }
        }
    }

    private async Task ReloadAsync(CancellationToken cancellationToken)
    {
        var policy = await loader.LoadAsync(cancellationToken);
        store.Publish(policy);
        logger.PolicyLoaded(policy.Version, policy.Mode, policy.HostCount, policy.BindingCount);
    }

    private async Task<bool> VersionChangedAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT version FROM egress_settings WHERE id = 1", connection);
        return await command.ExecuteScalarAsync(cancellationToken) is long version && version != store.Current.Version;
    }
}
