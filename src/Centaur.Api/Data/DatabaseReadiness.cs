using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Centaur.Api.Data;

/// <summary>
/// Open until the schema is current. Background workers await it; /health reports it, so the AppHost's
/// WaitFor(api) means "the schema is migrated".
/// </summary>
internal sealed class DatabaseReadiness : IHealthCheck
{
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile string? _lastError;

    public Task WaitAsync(CancellationToken cancellationToken) => _ready.Task.WaitAsync(cancellationToken);

    public bool IsReady => _ready.Task.IsCompleted;

    public void MarkReady() => _ready.TrySetResult();

    public void MarkFailed(string error) => _lastError = error;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(IsReady
            ? HealthCheckResult.Healthy("schema is current")
            : HealthCheckResult.Unhealthy(_lastError is null ? "migrations have not finished" : $"migrations failing: {_lastError}"));
}
