using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Centaur.Api.Data;
using Microsoft.Extensions.Options;

namespace Centaur.Api.Sandboxes;

/// <summary>
/// The warm pool: N started, unassigned sandboxes, claimed atomically (a concurrent queue) and refilled in the
/// background. At start-up, unassigned sandboxes that a previous API process left behind are adopted (up to N) or
/// stopped, so the pool never grows across restarts. A backend with a pool of its own (<see cref="IWarmSandboxClaims"/>,
/// the Kubernetes one: pods shared by every replica) is claimed from instead, and nothing is pre-spawned here.
/// </summary>
internal sealed partial class SandboxPool(
    ISandboxBackend backend, SandboxSessionStore sessions, IServiceProvider services, DatabaseReadiness readiness,
    IOptions<SandboxOptions> options, ILogger<SandboxPool> logger) : BackgroundService
{
    private readonly ConcurrentQueue<SandboxInfo> _ready = new();
    private readonly SemaphoreSlim _refill = new(0, int.MaxValue);
    private int _count;

    /// <summary>The backend's own pool, if it has one; then this class only forwards claims to it.</summary>
    public IWarmSandboxClaims? Cluster { get; } = backend as IWarmSandboxClaims;

    public int Count => Cluster?.WarmCount ?? Volatile.Read(ref _count);

    /// <summary>A warm sandbox for the thread (claimed for it in the cluster pool's case), or null: cold-start.</summary>
    public async Task<SandboxInfo?> TryClaimAsync(string threadKey, CancellationToken cancellationToken)
    {
        if (Cluster is null)
        {
            return TryClaim(out var local) ? local : null;
        }

        var claimed = await Cluster.TryClaimWarmAsync(threadKey, cancellationToken);
        if (claimed is not null)
        {
            SandboxMetrics.WarmClaims.Add(1);
        }

        return claimed;
    }

    public bool TryClaim([NotNullWhen(true)] out SandboxInfo? sandbox)
    {
        while (_ready.TryDequeue(out sandbox))
        {
            Interlocked.Decrement(ref _count);
            _refill.Release();
            SandboxMetrics.WarmClaims.Add(1);
            return true;
        }

        sandbox = null;
        return false;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (Cluster is not null)
        {
            // The backend keeps (and adopts, refills, retires) its pool itself; spawning here would pool twice.
            return;
        }

        await readiness.WaitAsync(stoppingToken);
        try
        {
            await AdoptOrReapAsync(stoppingToken);
            while (!stoppingToken.IsCancellationRequested)
            {
                while (Count < options.Value.WarmPoolSize && !stoppingToken.IsCancellationRequested)
                {
                    await StartOneAsync(stoppingToken);
                }

                await _refill.WaitAsync(TimeSpan.FromSeconds(30), stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // shutting down
        }
    }

    private async Task StartOneAsync(CancellationToken cancellationToken)
    {
        try
        {
            var manager = services.GetRequiredService<SandboxManager>();
            var started = await backend.StartAsync(manager.BuildSpec(SandboxManager.NewSandboxId(), session: null), cancellationToken);
            _ready.Enqueue(started);
            Interlocked.Increment(ref _count);
            SandboxMetrics.Spawns.Add(1);
        }
        catch (Exception ex) when (ex is SandboxStartException or IOException or InvalidOperationException)
        {
            LogWarmStartFailed(logger, ex);
            await Task.Delay(TimeSpan.FromSeconds(5), cancellationToken);
        }
    }

    private async Task AdoptOrReapAsync(CancellationToken cancellationToken)
    {
        var bound = (await sessions.ListLiveAsync(cancellationToken)).Select(s => s.SandboxId).ToHashSet(StringComparer.Ordinal);
        foreach (var sandbox in await backend.ListAsync(cancellationToken))
        {
            if (bound.Contains(sandbox.SandboxId) || sandbox.ThreadKey is not null)
            {
                continue;
            }

            if (sandbox.State == SandboxState.Ready && Count < options.Value.WarmPoolSize)
            {
                _ready.Enqueue(sandbox);
                Interlocked.Increment(ref _count);
                LogAdopted(logger, sandbox.SandboxId);
            }
            else
            {
                await backend.StopAsync(sandbox.SandboxId, cancellationToken);
                LogReaped(logger, sandbox.SandboxId);
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        _refill.Dispose();
    }

    [LoggerMessage(1501, LogLevel.Warning, "Starting a warm sandbox failed")]
    private static partial void LogWarmStartFailed(ILogger logger, Exception exception);

    [LoggerMessage(1502, LogLevel.Information, "Adopted warm sandbox {SandboxId} from a previous API process")]
    private static partial void LogAdopted(ILogger logger, string sandboxId);

    [LoggerMessage(1503, LogLevel.Information, "Reaped unassigned sandbox {SandboxId} left by a previous API process")]
    private static partial void LogReaped(ILogger logger, string sandboxId);
}
