using System.Diagnostics.CodeAnalysis;
using System.Text;
using Microsoft.Extensions.Options;

namespace Centaur.Api.Auth;

/// <summary>Signs and checks sbx1 tokens with the sandbox-token-key parameter.</summary>
internal sealed class SandboxTokenIssuer(IOptions<CentaurOptions> options, TimeProvider time)
{
    private readonly byte[] _key = Encoding.UTF8.GetBytes(options.Value.SandboxTokenKey ?? "");

    public bool IsConfigured => _key.Length > 0;

    /// <summary>A token for the sandbox; with <paramref name="address"/>, valid at IronProxy from that address only.</summary>
    public string Issue(string threadKey, string sandboxId, string? address = null) =>
        IsConfigured
            ? new SandboxToken(threadKey, sandboxId, time.GetUtcNow() + SandboxToken.DefaultLifetime, address).Sign(_key)
            : throw new InvalidOperationException("Centaur:SandboxTokenKey is empty: sandboxes cannot be given tokens.");

    public bool TryValidate(string token, [NotNullWhen(true)] out SandboxToken? valid)
    {
        valid = null;
        return IsConfigured && SandboxToken.TryValidate(token, _key, time.GetUtcNow(), out valid);
    }
}
