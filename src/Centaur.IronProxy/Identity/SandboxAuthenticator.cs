using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using Centaur.Api.Auth;
using Microsoft.Extensions.Options;

namespace Centaur.IronProxy.Identity;

/// <summary>
/// Turns a Proxy-Authorization value into a sandbox identity. Clients put the token in the proxy URL's userinfo
/// (<c>http://sandbox:sbx1.…@ironproxy:5082</c>), which they send as Basic; Bearer is accepted too.
/// </summary>
internal sealed class SandboxAuthenticator(IOptions<SandboxTokenOptions> options, TimeProvider time)
{
    private readonly byte[] _key = Encoding.UTF8.GetBytes(options.Value.SandboxTokenKey);

    public bool TryAuthenticate(string? authorization, [NotNullWhen(true)] out SandboxIdentity? identity) =>
        TryAuthenticateToken(ExtractToken(authorization), out identity);

    /// <summary>The raw token (reverse mode carries it bare, in a header or a path segment).</summary>
    public bool TryAuthenticateToken(string? token, [NotNullWhen(true)] out SandboxIdentity? identity)
    {
        identity = null;
        if (!SandboxToken.TryValidate(token, _key, time.GetUtcNow(), out var valid))
        {
            return false;
        }

        identity = new SandboxIdentity(valid.ThreadKey, valid.SandboxId);
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
