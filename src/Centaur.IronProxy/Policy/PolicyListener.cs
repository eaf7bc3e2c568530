using Npgsql;

namespace Centaur.IronProxy.Policy;

/// <summary>
/// Loads the policy at start, then LISTENs on 'centaur_egress_policy' and reloads on every change; a periodic
/// version check covers notifications lost while the connection was down.
/// </summary>
internal sealed class PolicyListener(
    NpgsqlDataSource dataSource, PolicyLoader loader, PolicyStore store, ILogger<PolicyListener> logger, TimeProvider time)
    : NotificationListener(dataSource, time)
{
    private int _changed;

    protected override string Channel => "centaur_egress_policy";

    protected override TimeSpan QuietInterval => TimeSpan.FromSeconds(30);

    protected override void OnNotification(string payload) => Interlocked.Exchange(ref _changed, 1);

    // Listening before loading: a change committed in between is either in this load or notified.
    protected override Task OnListeningAsync(CancellationToken cancellationToken) => ReloadAsync(cancellationToken);

    protected override async Task OnWaitedAsync(NpgsqlConnection connection, bool notified, CancellationToken cancellationToken)
    {
        if (notified || Interlocked.Exchange(ref _changed, 0) == 1 || await VersionChangedAsync(connection, cancellationToken))
        {
            Interlocked.Exchange(ref _changed, 0);
            await ReloadAsync(cancellationToken);
        }
    }

    protected override bool IsRetriable(Exception exception) =>
        base.IsRetriable(exception) || exception is FormatException or System.Security.Cryptography.CryptographicException;

    protected override void OnFailed(Exception exception, int attempt, TimeSpan retryIn)
    {
        store.ReportFailure(exception.Message);
        logger.PolicyLoadFailed(exception, attempt, retryIn);
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
