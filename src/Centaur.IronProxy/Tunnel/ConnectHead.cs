using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace Centaur.IronProxy.Tunnel;

/// <summary>A parsed <c>CONNECT host:port HTTP/1.1</c> head: the target and the Proxy-Authorization value.</summary>
internal sealed record ConnectHead(string Host, int Port, string? ProxyAuthorization)
{
    public const int MaxBytes = 16 * 1024;

    private static ReadOnlySpan<byte> Prefix => "CONNECT "u8;

    private static ReadOnlySpan<byte> End => "\r\n\r\n"u8;

    internal enum Peek
    {
        NotConnect,
        NeedMore,
        Complete,
        TooLarge,
    }

    /// <summary>Whether the bytes so far start a CONNECT, and where its head ends once complete.</summary>
    public static Peek Classify(in ReadOnlySequence<byte> buffer, out SequencePosition headEnd)
    {
        headEnd = buffer.Start;
        Span<byte> first = stackalloc byte[8];
        var length = (int)Math.Min(buffer.Length, first.Length);
        buffer.Slice(0, length).CopyTo(first);
        if (!Prefix.StartsWith(first[..length]))
        {
            return Peek.NotConnect;
        }

        var reader = new SequenceReader<byte>(buffer);
        if (reader.TryReadTo(out ReadOnlySequence<byte> _, End, advancePastDelimiter: true))
        {
            headEnd = reader.Position;
            return reader.Consumed > MaxBytes ? Peek.TooLarge : Peek.Complete;
        }

        return buffer.Length > MaxBytes ? Peek.TooLarge : Peek.NeedMore;
    }

    public static bool TryParse(string head, [NotNullWhen(true)] out ConnectHead? parsed)
    {
        parsed = null;
        var lines = head.Split("\r\n");
        var parts = lines[0].Split(' ');
        if (parts.Length != 3 || parts[0] != "CONNECT" || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal))
        {
            return false;
        }

        var target = parts[1];
        var colon = target.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(target.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            return false;
        }

        var host = target[..colon].ToLowerInvariant();
        if (!IsValidHost(host))
        {
            return false;
        }

        string? authorization = null;
        foreach (var line in lines.AsSpan(1))
        {
            var separator = line.IndexOf(':', StringComparison.Ordinal);
            if (separator > 0 && line.AsSpan(0, separator).Trim().Equals("proxy-authorization", StringComparison.OrdinalIgnoreCase))
            {
                authorization = line[(separator + 1)..].Trim();
            }
        }

        parsed = new ConnectHead(host, port, authorization);
        return true;
    }

    public static string Decode(in ReadOnlySequence<byte> head) => Encoding.Latin1.GetString(head);

    private static bool IsValidHost(string host)
    {
        if (host.Length is 0 or > 253)
        {
            return false;
        }

        if (host[0] == '[')
        {
            return host[^1] == ']' && System.Net.IPAddress.TryParse(host.AsSpan(1, host.Length - 2), out _);
        }

        foreach (var c in host)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_'))
            {
                return false;
            }
        }

        return true;
    }
}
