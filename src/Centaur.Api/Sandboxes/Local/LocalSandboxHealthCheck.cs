using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Centaur.Api.Sandboxes.Local;

/// <summary>/health says how sandboxes are isolated and limited, so an unisolated or unlimited setup is visible.</summary>
internal sealed class LocalSandboxHealthCheck(LocalSandboxBackend backend) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var description = $"isolation: {backend.Isolation}; limits: {backend.Limits.Describe()}; live sandboxes: {backend.LiveCount}";
        var data = new Dictionary<string, object>
        {
            ["isolation"] = backend.Bubblewrap is null ? "none" : "bubblewrap",
            ["limits"] = backend.Limits.Mode,
            ["live"] = backend.LiveCount,
        };
        var degraded = backend.Bubblewrap is null || backend.Limits.Mode is "none" or "prlimit";
        return Task.FromResult(degraded ? HealthCheckResult.Degraded(description, data: data) : HealthCheckResult.Healthy(description, data));
    }
}
