using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Centaur.IronProxy.Policy;

/// <summary>
/// Holds the current policy snapshot; swapped whole on reload, so a request sees one consistent version.
/// Until the first load the proxy denies everything (the empty policy) and reports Unhealthy.
/// </summary>
internal sealed class PolicyStore : IHealthCheck
{
    private volatile EgressPolicy _current = EgressPolicy.Empty;
    private volatile bool _loaded;
    private volatile string? _lastError;

    public EgressPolicy Current => _current;

    /// <summary>False until the first policy is read from the store (a proxy that is starting or restarting).</summary>
    public bool IsLoaded => _loaded;

    public void Publish(EgressPolicy policy)
    {
        _current = policy;
        _loaded = true;
        _lastError = null;
    }

    public void ReportFailure(string error) => _lastError = error;

    // The description carries the loaded version: tests and operators wait on it after changing the policy.
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var policy = _current;
        var summary = $"policy version {policy.Version} loaded ({policy.Mode.ToString().ToLowerInvariant()}, {policy.HostCount} hosts, {policy.BindingCount} bindings, {policy.Routes.Count} routes, {policy.ThreadAllowanceCount} thread allowances)";
        return Task.FromResult(!_loaded
            ? HealthCheckResult.Unhealthy(_lastError is null ? "policy not loaded yet" : $"policy not loaded: {_lastError}")
            : _lastError is null
                ? HealthCheckResult.Healthy(summary)
                : HealthCheckResult.Degraded($"{summary}; last reload failed: {_lastError}"));
    }
}
