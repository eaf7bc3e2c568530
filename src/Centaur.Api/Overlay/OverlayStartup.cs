using Centaur.Api.Tools;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Centaur.Api.Overlay;

/// <summary>Loads the extensions at start, so overlay problems are in the log before the first call, not at it.</summary>
internal sealed class OverlayStartup(ExtensionCatalog catalog, IConfiguration configuration, ILogger<OverlayStartup> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = catalog.Current;
        if (string.IsNullOrEmpty(configuration["IronProxy:Url"]))
        {
            ToolsLog.DirectEgress(logger);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>Degraded while the overlay has files that could not be loaded (GET /overlay lists them).</summary>
internal sealed class OverlayHealthCheck(ExtensionCatalog catalog) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(catalog.Current.Errors.Count == 0
            ? HealthCheckResult.Healthy($"extensions v{catalog.Current.Version}")
            : HealthCheckResult.Degraded($"{catalog.Current.Errors.Count} overlay problem(s); GET /overlay lists them"));
}
