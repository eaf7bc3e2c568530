using System.Text;
using Centaur.Api.Auth;

namespace Centaur.Api.Sandboxes;

/// <summary>
/// Mints sandbox tokens (sbx1) with the key in Centaur:SandboxTokenKey. Backends put a fresh one into the setup and
/// into every turn.start, so a token in a sandbox is never older than one turn plus its lifetime.
/// </summary>
internal sealed class SandboxTokenIssuer(IConfiguration configuration, TimeProvider time)
{
    private readonly byte[]? _key = configuration["Centaur:SandboxTokenKey"] is { Length: > 0 } key ? Encoding.UTF8.GetBytes(key) : null;

    /// <summary>Null when no key is configured: the sandbox then has no token and `call` says so.</summary>
    public string? Issue(string threadKey, string sandboxId) =>
        _key is null ? null : new SandboxToken(threadKey, sandboxId, time.GetUtcNow() + SandboxToken.DefaultLifetime).Sign(_key);
}
