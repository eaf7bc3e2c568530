using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// A service whose secret has no value starts anyway and reports Degraded (HTTP 200) on /health, naming the
/// configuration key that is empty, instead of crash-looping. The value itself is never read into the report.
/// </summary>
public static class SecretHealthChecks
{
    public static IHealthChecksBuilder AddSecretCheck(this IHealthChecksBuilder checks, string parameterName, string configurationKey) =>
        checks.Add(new HealthCheckRegistration(
            $"secret:{parameterName}",
            sp => new SecretHealthCheck(sp.GetRequiredService<IConfiguration>(), parameterName, configurationKey),
            HealthStatus.Degraded,
            ["secrets"]));

    private sealed class SecretHealthCheck(IConfiguration configuration, string parameterName, string configurationKey) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(string.IsNullOrWhiteSpace(configuration[configurationKey])
                ? HealthCheckResult.Degraded($"secret '{parameterName}' has no value (set Parameters:{parameterName} on the AppHost or {configurationKey})")
                : HealthCheckResult.Healthy($"secret '{parameterName}' is set"));
    }
}
