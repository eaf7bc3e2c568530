using System.Text;
using Centaur.Sandbox.Wire;

namespace Centaur.Sandbox.Harnesses;

/// <summary>
/// Reads the expiry out of a sandbox token (sbx1.&lt;payload&gt;.&lt;sig&gt;) without verifying it: the sandbox only
/// needs to know when a long-lived CLI, whose proxy URL carries the token, must be restarted with a fresh one.
/// </summary>
internal static class SandboxTokenExpiry
{
    public static DateTimeOffset? Read(string? token)
    {
        if (token is null || !token.StartsWith("sbx1.", StringComparison.Ordinal))
        {
            return null;
        }

        var parts = token.Split('.');
        if (parts.Length != 3)
        {
            return null;
        }

        try
        {
            var s = parts[1].Replace('-', '+').Replace('_', '/');
            s = s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '=');
            var json = WireJson.TryParseObject(Encoding.UTF8.GetString(Convert.FromBase64String(s)));
            return json is not null && json.TryGetPropertyValue("exp", out var exp) && exp is not null
                ? DateTimeOffset.FromUnixTimeSeconds(exp.GetValue<long>())
                : null;
        }
        catch (Exception ex) when (ex is FormatException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>True when a CLI started with <paramref name="current"/> should be restarted to pick up <paramref name="offered"/>.</summary>
    public static bool ShouldRefresh(string? current, string? offered, TimeSpan turnTimeout, DateTimeOffset now)
    {
        if (offered is null || offered == current)
        {
            return false;
        }

        if (current is null)
        {
            return true;
        }

        var expires = Read(current);
        return expires is null || expires.Value - now < turnTimeout + TimeSpan.FromMinutes(5);
    }
}
