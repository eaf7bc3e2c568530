namespace Centaur.Api.Sandboxes;

/// <summary>A sandbox could not be created or did not become ready; <see cref="Code"/> is stable (events, ProblemDetails).</summary>
public sealed class SandboxStartException(string message, Exception? inner = null, string code = "sandbox_start_failed") : Exception(message, inner)
{
    public string Code { get; } = code;
}

/// <summary>The sandbox no longer exists (its process or pod is gone).</summary>
public sealed class SandboxGoneException(string sandboxId) : Exception($"sandbox {sandboxId} is gone")
{
    public string SandboxId { get; } = sandboxId;
}
