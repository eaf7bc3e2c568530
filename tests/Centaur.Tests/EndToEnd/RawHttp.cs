using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Centaur.Tests.EndToEnd;

/// <summary>
/// One HTTP/1.1 request written byte for byte on its own connection. HttpClient would normalise the request target
/// (dot segments, escapes), refuse a Content-Length it does not send, and cannot speak absolute-form or CONNECT to a
/// server that is not configured as its proxy; the sweep needs all of those exactly as an attacker would send them.
/// </summary>
internal static class RawHttp
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(15);

    public sealed record Request(string Method, string Target, IReadOnlyList<(string Name, string Value)> Headers, byte[] Body, long? DeclaredLength = null);

    public sealed record Response(int Status, IReadOnlyList<(string Name, string Value)> Headers, string Body)
    {
        public string? Header(string name) =>
            Headers.Where(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).FirstOrDefault();

        public string HeadText => string.Join('\n', Headers.Select(h => $"{h.Name}: {h.Value}"));
    }

    /// <summary>
    /// Sends the head and the body; with <see cref="Request.DeclaredLength"/> larger than the body, the head announces
    /// that length and only the body's bytes follow (the server must refuse without waiting for the rest).
    /// </summary>
    public static async Task<Response> SendAsync(Uri server, Request request, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(s_timeout);
        using var client = new TcpClient();
        await client.ConnectAsync(server.Host, server.Port, timeout.Token);
        var stream = client.GetStream();
        var head = new StringBuilder().Append(CultureInfo.InvariantCulture, $"{request.Method} {request.Target} HTTP/1.1\r\n");
        if (!request.Headers.Any(h => h.Name.Equals("Host", StringComparison.OrdinalIgnoreCase)))
        {
            head.Append(CultureInfo.InvariantCulture, $"Host: {server.Authority}\r\n");
        }

        foreach (var (name, value) in request.Headers)
        {
            head.Append(CultureInfo.InvariantCulture, $"{name}: {value}\r\n");
        }

        var length = request.DeclaredLength ?? request.Body.Length;
        if (length > 0 || request.Method is "POST" or "PUT")
        {
            head.Append(CultureInfo.InvariantCulture, $"Content-Length: {length}\r\n");
        }

        head.Append("Connection: close\r\n\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()), timeout.Token);
        if (request.Body.Length > 0)
        {
            try
            {
                await stream.WriteAsync(request.Body, timeout.Token);
            }
            catch (IOException)
            {
                // The server may answer and close before it has read a body it refuses; its answer is still readable.
            }
        }

        return await ReadAsync(stream, request.Method == "HEAD", timeout.Token);
    }

    private static async Task<Response> ReadAsync(Stream stream, bool headOnly, CancellationToken cancellationToken)
    {
        var reader = new BufferedReader(stream);
        var statusLine = await reader.ReadLineAsync(cancellationToken)
            ?? throw new IOException("the server closed the connection without an answer");
        var status = int.Parse(statusLine.Split(' ')[1], CultureInfo.InvariantCulture);
        var headers = new List<(string, string)>();
        while (await reader.ReadLineAsync(cancellationToken) is { Length: > 0 } line)
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            headers.Add((line[..colon].Trim(), line[(colon + 1)..].Trim()));
        }

        string Find(string name) => headers.Where(h => h.Item1.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Item2).FirstOrDefault() ?? "";
        byte[] body;
        if (headOnly || status is 204 or 304 || (status is >= 200 and < 300 && statusLine.Contains("Connection established", StringComparison.OrdinalIgnoreCase)))
        {
            body = [];
        }
        else if (Find("Transfer-Encoding").Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            using var buffer = new MemoryStream();
            while (true)
            {
                var size = int.Parse((await reader.ReadLineAsync(cancellationToken) ?? "0").Split(';')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (size == 0)
                {
                    break;
                }

                buffer.Write(await reader.ReadExactlyAsync(size, cancellationToken));
                await reader.ReadLineAsync(cancellationToken);
            }

            body = buffer.ToArray();
        }
        else if (long.TryParse(Find("Content-Length"), CultureInfo.InvariantCulture, out var length))
        {
            body = await reader.ReadExactlyAsync((int)length, cancellationToken);
        }
        else
        {
            body = await reader.ReadToEndAsync(cancellationToken);
        }

        return new Response(status, headers, Encoding.UTF8.GetString(body));
    }

    /// <summary>Lines and exact byte counts over a network stream.</summary>
    private sealed class BufferedReader(Stream stream)
    {
        private readonly byte[] _buffer = new byte[16 * 1024];
        private int _start;
        private int _end;

        public async Task<string?> ReadLineAsync(CancellationToken cancellationToken)
        {
            var line = new List<byte>();
            while (true)
            {
                if (_start == _end && !await FillAsync(cancellationToken))
                {
                    return line.Count == 0 ? null : Encoding.ASCII.GetString([.. line]);
                }

                var b = _buffer[_start++];
                if (b == '\n')
                {
                    return Encoding.ASCII.GetString([.. line]).TrimEnd('\r');
                }

                line.Add(b);
            }
        }

        public async Task<byte[]> ReadExactlyAsync(int count, CancellationToken cancellationToken)
        {
            var result = new byte[count];
            var read = 0;
            while (read < count)
            {
                if (_start == _end && !await FillAsync(cancellationToken))
                {
                    return result[..read];
                }

                var n = Math.Min(count - read, _end - _start);
                Array.Copy(_buffer, _start, result, read, n);
                _start += n;
                read += n;
            }

            return result;
        }

        public async Task<byte[]> ReadToEndAsync(CancellationToken cancellationToken)
        {
            using var all = new MemoryStream();
            do
            {
                all.Write(_buffer, _start, _end - _start);
                _start = _end;
            }
            while (await FillAsync(cancellationToken));

            return all.ToArray();
        }

        private async Task<bool> FillAsync(CancellationToken cancellationToken)
        {
            _start = 0;
            try
            {
                _end = await stream.ReadAsync(_buffer, cancellationToken);
            }
            catch (IOException)
            {
                // a reset after the answer: what was read is the answer
                _end = 0;
            }

            return _end > 0;
        }
    }
}
