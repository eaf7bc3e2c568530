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

    /// <summary>
    /// Creates a sandbox. With a thread key it returns once the thread's workspace is assembled (~/.ready exists);
    /// without one (a warm pool member) it returns once the sandbox runs and waits for <see cref="AssignAsync"/>.
    /// </summary>
    Task<SandboxInfo> StartAsync(SandboxSpec spec, CancellationToken cancellationToken);

    /// <summary>
    /// Binds a started, unassigned sandbox (a warm pool claim) to the thread in <paramref name="spec"/>: the per-thread
    /// setup (repo, persona, harness, the thread's persisted home) is applied without a restart; returns once ready.
    /// </summary>
    /// <remarks>
    /// Optional: the control plane may instead send the <c>setup</c> line over the wire itself; a backend that needs
    /// host-side work for a claim (the local one moves the thread's persisted home) does it when it sees that line.
    /// </remarks>
    Task<SandboxInfo> AssignAsync(string sandboxId, SandboxSpec spec, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"the {Name} backend assigns sandboxes through the setup line on the wire");

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
    IReadOnlyDictionary<string, string> Environment)
{
    /// <summary>The harness's model (e.g. claude-sonnet-4-5); null: the harness's default.</summary>
    public string? Model { get; init; }
}

public enum SandboxState
{
    Starting,
    Ready,
    Exited,
}

public sealed record SandboxInfo(string SandboxId, SandboxState State, string? ThreadKey, DateTimeOffset CreatedAt)
{
    /// <summary>The harness's stored session (Claude session id, Codex thread id, pi session id) once known.</summary>
    public string? HarnessSessionId { get; init; }
}

/// <summary>The canonical NDJSON wire (Anthropic message format) to one sandbox.</summary>
public interface ISandboxWire : IAsyncDisposable
{
    /// <summary>Writes one line (turn.start, turn.cancel, …) to the sandbox's stdin.</summary>
    Task SendAsync(JsonObject line, CancellationToken cancellationToken);

    /// <summary>Every line the sandbox writes to stdout, in order; completes when the sandbox process exits.</summary>
    IAsyncEnumerable<JsonObject> ReadAllAsync(CancellationToken cancellationToken);
}
