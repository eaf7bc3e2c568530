using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Centaur.Slack.Inbound;

/// <summary>
/// Slack's v0 request signature: hex(HMAC-SHA256(secret, "v0:" + timestamp + ":" + raw body)), compared in constant
/// time, with the timestamp at most five minutes from now in either direction (replays of old requests fail).
/// </summary>
internal static class SlackSignature
{
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(5);

    public static SignatureResult Verify(string secret, string? timestamp, string? signature, ReadOnlySpan<byte> body, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(timestamp) || string.IsNullOrEmpty(signature))
        {
            return SignatureResult.Missing;
        }

        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || Math.Abs(now.ToUnixTimeSeconds() - seconds) > (long)Window.TotalSeconds)
        {
            return SignatureResult.Stale;
        }

        if (!signature.StartsWith("v0=", StringComparison.Ordinal))
        {
            return SignatureResult.Invalid;
        }

        var expected = Compute(secret, timestamp, body);
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(signature))
            ? SignatureResult.Valid
            : SignatureResult.Invalid;
    }

    public static string Compute(string secret, string timestamp, ReadOnlySpan<byte> body)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(secret));
        hmac.AppendData("v0:"u8);
        hmac.AppendData(Encoding.ASCII.GetBytes(timestamp));
        hmac.AppendData(":"u8);
        hmac.AppendData(body);
        return "v0=" + Convert.ToHexStringLower(hmac.GetHashAndReset());
    }
}

internal enum SignatureResult
{
    Valid,
    Missing,
    Stale,
    Invalid,
}
