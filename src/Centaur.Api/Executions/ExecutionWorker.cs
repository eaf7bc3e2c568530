using Centaur.Api.Data;
using Centaur.Api.Events;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Centaur.Api.Executions;

/// <summary>
/// Claims runnable executions (FOR UPDATE SKIP LOCKED, with a lease renewed while the turn runs) and drives each on
/// its own task, up to Centaur:WorkerConcurrency at once. A crashed worker's lease expires and any replica re-claims
/// the execution. New work arrives by NOTIFY; a slow poll covers lost notifications and expired leases.
/// </summary>
internal sealed partial class ExecutionWorker(
    ExecutionStore store, IServiceProvider services, ChangeNotifier notifier, DatabaseReadiness readiness,
    IOptions<CentaurOptions> options, ILogger<ExecutionWorker> logger) : BackgroundService
{
    private static readonly TimeSpan s_poll = TimeSpan.FromSeconds(2);

    public string Owner { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await readiness.WaitAsync(stoppingToken);
        var lease = TimeSpan.FromSeconds(options.Value.LeaseSeconds);
        using var slots = new SemaphoreSlim(options.Value.WorkerConcurrency);
        var running = new List<Task>();
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await slots.WaitAsync(stoppingToken);
                var claimed = await store.ClaimAsync(Owner, lease, stoppingToken);
                failures = 0;
                if (claimed is not { } work)
                {
                    slots.Release();
                    await notifier.WaitForQueuedAsync(s_poll, stoppingToken);
                    continue;
                }

                running.RemoveAll(t => t.IsCompleted);
                running.Add(Task.Run(async () =>
                {
                    try
                    {
                        await DriveAsync(work.Execution, work.Reclaimed, lease, stoppingToken);
                    }
                    finally
                    {
                        slots.Release();
                        notifier.WakeWorker();
                    }
                }, CancellationToken.None));
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
            {
                slots.Release();
                failures++;
                var delay = TimeSpan.FromSeconds(Math.Pow(2, Math.Min(failures, 5))) + TimeSpan.FromMilliseconds(Random.Shared.Next(1000));
                LogClaimFailed(logger, ex, delay);
                await Task.Delay(delay, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }

        // Shutdown: leases are left to expire so another replica (or this one, restarted) re-claims the turns.
        await Task.WhenAll(running).WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    private async Task DriveAsync(ExecutionResponse execution, bool reclaimed, TimeSpan lease, CancellationToken stoppingToken)
    {
        using var scope = logger.BeginScope(new Dictionary<string, object> { ["ThreadKey"] = execution.ThreadKey, ["ExecutionId"] = execution.ExecutionId });
        using var leaseLost = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var renewal = RenewAsync(execution.ExecutionId, lease, leaseLost);
        try
        {
            await using var unit = services.CreateAsyncScope();
            var driver = unit.ServiceProvider.GetRequiredService<TurnDriver>();
            await driver.RunAsync(execution, reclaimed, Owner, leaseLost.Token);
        }
        catch (OperationCanceledException) when (leaseLost.IsCancellationRequested)
        {
            LogLeaseEnded(logger, execution.ExecutionId);
        }
        catch (Exception ex)
        {
            // Unexpected: the lease lapses and the execution is re-claimed (and replayed or failed by the ledger).
            LogDriveFailed(logger, ex, execution.ExecutionId);
        }
        finally
        {
            await leaseLost.CancelAsync();
            await renewal;
        }
    }

    private async Task RenewAsync(long executionId, TimeSpan lease, CancellationTokenSource leaseLost)
    {
        var every = lease / 3;
        try
        {
            while (!leaseLost.IsCancellationRequested)
            {
                await Task.Delay(every, leaseLost.Token);
                if (!await store.RenewLeaseAsync(executionId, Owner, lease, leaseLost.Token))
                {
                    await leaseLost.CancelAsync();
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // the turn ended or the service is stopping
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            // Cannot prove ownership any more: stop driving rather than race a new owner.
            LogRenewFailed(logger, ex, executionId);
            await leaseLost.CancelAsync();
        }
    }

    [LoggerMessage(1701, LogLevel.Warning, "Claiming executions failed; retrying in {Delay}")]
    private static partial void LogClaimFailed(ILogger logger, Exception exception, TimeSpan delay);

    [LoggerMessage(1702, LogLevel.Information, "Stopped driving execution {ExecutionId}: lease lost or shutting down")]
    private static partial void LogLeaseEnded(ILogger logger, long executionId);

    [LoggerMessage(1703, LogLevel.Error, "Driving execution {ExecutionId} failed unexpectedly")]
    private static partial void LogDriveFailed(ILogger logger, Exception exception, long executionId);

    [LoggerMessage(1704, LogLevel.Warning, "Renewing the lease of execution {ExecutionId} failed")]
    private static partial void LogRenewFailed(ILogger logger, Exception exception, long executionId);
}
