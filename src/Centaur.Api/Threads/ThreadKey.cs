using System.Security.Cryptography;
using System.Text;

namespace Centaur.Api.Threads;

/// <summary>
/// <c>&lt;source&gt;:&lt;…&gt;</c>, printable ASCII without spaces, at most 256 characters, e.g.
/// <c>slack:C123:1700000000.000100</c> or <c>cli:alice-1</c>. The source names the client that owns replies.
/// </summary>
internal static class ThreadKey
{
    public const int MaxLength = 256;

    public static string? Validate(string? key)
    {
        if (string.IsNullOrEmpty(key))
        {
            return "thread_key is required";
        }

        if (key.Length > MaxLength)
        {
            return $"thread_key is longer than {MaxLength} characters";
        }

        var colon = key.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == key.Length - 1)
        {
            return "thread_key must look like <source>:<id>, e.g. slack:C123:1700000000.000100";
        }

        for (var i = 0; i < key.Length; i++)
        {
            var c = key[i];
            var ok = i < colon ? char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '_' : c is > ' ' and <= '~';
            if (!ok)
            {
                return i < colon
                    ? "thread_key's source (before the first ':') may only hold a-z, 0-9, '-' and '_'"
                    : "thread_key may only hold printable ASCII characters without spaces";
            }
        }

        return null;
    }

    /// <summary>Route values keep "%2F" encoded; a thread key with '/' arrives that way.</summary>
    public static string FromRoute(string value) => Uri.UnescapeDataString(value);

    public static string Source(string key) => key[..key.IndexOf(':', StringComparison.Ordinal)];

    /// <summary>A short stable hash for names that must not carry the key itself (branches, pod labels, folders).</summary>
    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..16];
}
