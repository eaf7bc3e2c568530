using Microsoft.Extensions.Options;

namespace Centaur.Api.Sandboxes.Kubernetes;

/// <summary>Keeps the warm pool at its size (and retires stale pool pods, also when the pool is off).</summary>
internal sealed class KubernetesWarmPoolService(
    KubernetesWarmPool pool, IOptions<KubernetesSandboxOptions> options, TimeProvider time, ILogger<KubernetesWarmPoolService> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            var delay = options.Value.WarmPoolRefillInterval;
            try
            {
                await pool.RefillAsync(stoppingToken);
                failures = 0;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                failures++;
                delay = TimeSpan.FromSeconds(Math.Pow(2, Math.Min(failures, 5))) + TimeSpan.FromMilliseconds(Random.Shared.Next(1000));
                logger.PoolRefillFailed(ex, failures, delay);
            }

            try
            {
                await Task.Delay(delay, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
