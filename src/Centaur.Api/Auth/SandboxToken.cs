using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Centaur.Api.Auth;

/// <summary>
/// A sandbox's credential: <c>sbx1.&lt;payload&gt;.&lt;sig&gt;</c>, payload = base64url(JSON {t: thread key, s: sandbox id,
/// exp: unix seconds, a: source address}), sig = base64url(HMAC-SHA256(key, "sbx1." + payload)). It names the thread
/// and sandbox it speaks for and expires (2 h by default; refreshed on every turn). A Kubernetes pod's token also names
/// the pod's IP: IronProxy accepts it from that address only, so a token that leaks out of its pod is worth nothing
/// elsewhere. Shared by file with IronProxy.
/// </summary>
public sealed record SandboxToken(string ThreadKey, string SandboxId, DateTimeOffset ExpiresAt, string? Address = null)
{
    public const string Prefix = "sbx1.";

    public static readonly TimeSpan DefaultLifetime = TimeSpan.FromHours(2);

    public string Sign(ReadOnlySpan<byte> key)
    {
        var payload = Base64Url(JsonSerializer.SerializeToUtf8Bytes(
            new Payload(ThreadKey, SandboxId, ExpiresAt.ToUnixTimeSeconds(), Address), SandboxTokenJson.Default.Payload));
        return $"{Prefix}{payload}.{Base64Url(Mac(key, payload))}";
    }

    /// <summary>True only for a well-formed token with a valid signature that has not expired at <paramref name="now"/>.</summary>
    public static bool TryValidate(string? token, ReadOnlySpan<byte> key, DateTimeOffset now, [NotNullWhen(true)] out SandboxToken? result)
    {
        result = null;
        if (token is null || !token.StartsWith(Prefix, StringComparison.Ordinal) || token.Length > 4096)
        {
            return false;
        }

        var rest = token.AsSpan(Prefix.Length);
        var dot = rest.IndexOf('.');
        if (dot <= 0)
        {
            return false;
        }

        var payload = rest[..dot].ToString();
        byte[] signature;
        Payload? decoded;
        try
        {
            signature = Convert.FromBase64String(FromBase64Url(rest[(dot + 1)..].ToString()));
            if (!CryptographicOperations.FixedTimeEquals(signature, Mac(key, payload)))
            {
                return false;
            }

            decoded = JsonSerializer.Deserialize(Convert.FromBase64String(FromBase64Url(payload)), SandboxTokenJson.Default.Payload);
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            return false;
        }

        if (decoded is null || string.IsNullOrEmpty(decoded.T) || string.IsNullOrEmpty(decoded.S))
        {
            return false;
        }

        var expires = DateTimeOffset.FromUnixTimeSeconds(decoded.Exp);
        if (expires <= now)
        {
            return false;
        }

        result = new SandboxToken(decoded.T, decoded.S, expires, string.IsNullOrEmpty(decoded.A) ? null : decoded.A);
        return true;
    }

    private static byte[] Mac(ReadOnlySpan<byte> key, string payload) =>
        HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(Prefix + payload));

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string FromBase64Url(string value)
    {
        var s = value.Replace('-', '+').Replace('_', '/');
        return s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '=');
    }

    internal sealed record Payload(
        [property: JsonPropertyName("t")] string T,
        [property: JsonPropertyName("s")] string S,
        [property: JsonPropertyName("exp")] long Exp,
        [property: JsonPropertyName("a"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? A = null);
}

[JsonSerializable(typeof(SandboxToken.Payload))]
internal sealed partial class SandboxTokenJson : JsonSerializerContext;
