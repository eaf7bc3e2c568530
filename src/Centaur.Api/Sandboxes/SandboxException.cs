namespace Centaur.Api.Sandboxes;

/// <summary>A sandbox could not be started, set up or found; <see cref="Code"/> is stable (for ProblemDetails and events).</summary>
public sealed class SandboxException(string code, string message, Exception? inner = null) : Exception(message, inner)
{
    public string Code { get; } = code;
}
