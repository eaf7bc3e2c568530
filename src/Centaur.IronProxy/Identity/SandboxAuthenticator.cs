using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Text;
using Centaur.Api.Auth;
using Microsoft.Extensions.Options;

namespace Centaur.IronProxy.Identity;

/// <summary>
/// Turns a Proxy-Authorization value into a sandbox identity. Clients put the token in the proxy URL's userinfo
/// (<c>http://sandbox:sbx1.…@ironproxy:5082</c>), which they send as Basic; Bearer is accepted too.
/// Reverse mode authenticates every request, so tokens that verified are remembered (the exact string, until it
/// expires): a sandbox's next request costs a lookup, not an HMAC and a JSON parse. Tokens that fail are never kept.
/// A token bound to an address (a Kubernetes pod's) is accepted from that address only.
/// </summary>
internal sealed class SandboxAuthenticator(IOptions<SandboxTokenOptions> options, TimeProvider time, ILogger<SandboxAuthenticator> logger)
{
    // Tokens are per turn: a few per live sandbox. Past this the cache starts over rather than grow.
    private const int MaxCachedTokens = 10_000;

    private readonly byte[] _key = Encoding.UTF8.GetBytes(options.Value.SandboxTokenKey);
    private readonly ConcurrentDictionary<string, (SandboxIdentity Identity, DateTimeOffset ExpiresAt)> _verified = new(StringComparer.Ordinal);

    /// <param name="remote">The connection's peer address: a token bound to an address is refused from any other.</param>
    public bool TryAuthenticate(string? authorization, IPAddress? remote, [NotNullWhen(true)] out SandboxIdentity? identity) =>
        TryAuthenticateToken(ExtractToken(authorization), remote, out identity);

    /// <summary>The raw token (reverse mode carries it bare, in a header or a path segment).</summary>
    public bool TryAuthenticateToken(string? token, IPAddress? remote, [NotNullWhen(true)] out SandboxIdentity? identity)
    {
        if (!TryVerify(token, out identity))
        {
            return false;
        }

        if (!identity.MayComeFrom(remote))
        {
            // A pod's token used from somewhere else: leaked, so it is worth nothing (the caller answers 407).
            logger.TokenFromOtherAddress(identity.SandboxId, remote?.ToString() ?? "a Unix socket", identity.Address!.ToString());
            identity = null;
            return false;
        }

        return true;
    }

    private bool TryVerify(string? token, [NotNullWhen(true)] out SandboxIdentity? identity)
    {
        identity = null;
        if (token is null)
        {
            return false;
        }

        var now = time.GetUtcNow();
        if (_verified.TryGetValue(token, out var known))
        {
            if (known.ExpiresAt > now)
            {
                identity = known.Identity;
                return true;
            }

            _verified.TryRemove(token, out _);
            return false;
        }

        if (!SandboxToken.TryValidate(token, _key, now, out var valid))
        {
            return false;
        }

        IPAddress? bound = null;
        if (valid.Address is not null && !IPAddress.TryParse(valid.Address, out bound))
        {
            return false; // bound to something that is not an address: never valid
        }

        identity = new SandboxIdentity(valid.ThreadKey, valid.SandboxId, bound is null ? null : SandboxIdentity.Normalize(bound));

        if (_verified.Count >= MaxCachedTokens)
        {
            _verified.Clear();
        }

        _verified[token] = (identity, valid.ExpiresAt);
        return true;
    }

    internal static string? ExtractToken(string? authorization)
    {
        if (string.IsNullOrEmpty(authorization) || authorization.Length > 8192)
        {
            return null;
        }

        var value = authorization.AsSpan().Trim();
        if (value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return value[7..].Trim().ToString();
        }

        if (!value.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var encoded = value[6..].Trim();
        var buffer = new byte[Base64.GetMaxDecodedFromUtf8Length(encoded.Length)];
        if (!Convert.TryFromBase64Chars(encoded, buffer, out var written))
        {
            return null;
        }

        var decoded = Encoding.UTF8.GetString(buffer, 0, written);
        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return decoded;
        }

        // The token is the password (user is free), or the user when the password is empty.
        var password = decoded[(colon + 1)..];
        return password.StartsWith(SandboxToken.Prefix, StringComparison.Ordinal) || colon == 0 ? password : decoded[..colon];
    }
}
