namespace Centaur.Api.Sandboxes;

/// <summary>
/// Stands in when the configured backend cannot run here (e.g. bubblewrap missing): the API still starts, /health
/// says why, and every turn fails with that reason instead of the whole service crash-looping.
/// </summary>
internal sealed class UnavailableSandboxBackend(string name, string reason) : ISandboxBackend
{
    public string Name => name;

    public string Reason => reason;

    public Task<SandboxInfo> StartAsync(SandboxSpec spec, CancellationToken cancellationToken) =>
        throw new SandboxStartException($"the {name} sandbox backend is unavailable: {reason}");

    public Task<ISandboxWire> AttachAsync(string sandboxId, CancellationToken cancellationToken) => throw new SandboxGoneException(sandboxId);

    public Task<SandboxInfo?> GetAsync(string sandboxId, CancellationToken cancellationToken) => Task.FromResult<SandboxInfo?>(null);

    public Task<IReadOnlyList<SandboxInfo>> ListAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<SandboxInfo>>([]);

    public Task StopAsync(string sandboxId, CancellationToken cancellationToken) => Task.CompletedTask;
}
