using System.Text.Json.Nodes;

namespace Centaur.Api.Sandboxes;

/// <summary>
/// Where sandboxes live: a bubblewrap sandbox on this machine (local) or a pod per thread (kubernetes).
/// The control plane only ever talks to this interface, so the backends are interchangeable.
/// </summary>
public interface ISandboxBackend
{
    /// <summary>"local", "kubernetes", or a test fake's name; stored in sandbox_sessions.backend.</summary>
    string Name { get; }

    /// <summary>Creates a sandbox and returns once its workspace is assembled (~/.ready exists).</summary>
    Task<SandboxInfo> StartAsync(SandboxSpec spec, CancellationToken cancellationToken);

    /// <summary>
    /// Opens the NDJSON wire to the sandbox's main process (stdin/stdout). One wire per sandbox at a time; reading
    /// ends when the sandbox process exits or the wire is disposed.
    /// </summary>
    Task<ISandboxWire> AttachAsync(string sandboxId, CancellationToken cancellationToken);

    /// <summary>Null when the backend knows no such sandbox (it vanished).</summary>
    Task<SandboxInfo?> GetAsync(string sandboxId, CancellationToken cancellationToken);

    /// <summary>Every sandbox this backend runs for Centaur, so the reconcile loop sees the ones that vanished.</summary>
    Task<IReadOnlyList<SandboxInfo>> ListAsync(CancellationToken cancellationToken);

    /// <summary>Stops and removes the sandbox; idempotent (an unknown id is not an error).</summary>
    Task StopAsync(string sandboxId, CancellationToken cancellationToken);
}

/// <summary>What a sandbox is created from. Setup that differs per thread also goes over the wire after a warm claim.</summary>
public sealed record SandboxSpec(
    string SandboxId,
    string? ThreadKey,
    string Harness,
    string? Persona,
    string? Repo,
    IReadOnlyDictionary<string, string> Environment);

public enum SandboxState
{
    Starting,
    Ready,
    Exited,
}

public sealed record SandboxInfo(string SandboxId, SandboxState State, string? ThreadKey, DateTimeOffset CreatedAt);

/// <summary>The canonical NDJSON wire (Anthropic message format) to one sandbox.</summary>
public interface ISandboxWire : IAsyncDisposable
{
    /// <summary>Writes one line (turn.start, turn.cancel, …) to the sandbox's stdin.</summary>
    Task SendAsync(JsonObject line, CancellationToken cancellationToken);

    /// <summary>Every line the sandbox writes to stdout, in order; completes when the sandbox process exits.</summary>
    IAsyncEnumerable<JsonObject> ReadAllAsync(CancellationToken cancellationToken);
}
