namespace Centaur.Api.Workflows;

/// <summary>Wakes this process's idle workflow workers when it stores a run; other replicas find it at their next poll.</summary>
internal sealed class WorkflowSignal : IDisposable
{
    private readonly SemaphoreSlim _signal = new(0, int.MaxValue);

    public void Wake() => _signal.Release();

    public Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _signal.WaitAsync(timeout, cancellationToken);

    public void Dispose() => _signal.Dispose();
}
