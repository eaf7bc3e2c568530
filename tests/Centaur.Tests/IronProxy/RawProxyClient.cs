using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace Centaur.Tests.IronProxy;

/// <summary>Speaks to the proxy byte by byte where curl hides what happens (a refused CONNECT's body, SNI games).</summary>
internal static class RawProxyClient
{
    public sealed record Response(string StatusLine, string Head, string Body)
    {
        public int Status => int.Parse(StatusLine.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    public static async Task<(TcpClient Client, Response Response)> ConnectAsync(Uri proxy, string target, string? proxyAuthorization, CancellationToken cancellationToken)
    {
        var client = new TcpClient();
        await client.ConnectAsync(proxy.Host, proxy.Port, cancellationToken);
        var stream = client.GetStream();
        var head = $"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n" + (proxyAuthorization is null ? "" : $"Proxy-Authorization: {proxyAuthorization}\r\n") + "\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head), cancellationToken);
        return (client, await ReadResponseAsync(stream, cancellationToken));
    }

    public static string Basic(string token) => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"sandbox:{token}"));

    /// <summary>Reads a response head and its Content-Length body (or until close).</summary>
    public static async Task<Response> ReadResponseAsync(Stream stream, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        var buffer = new List<byte>();
        var one = new byte[1];
        while (!(buffer.Count >= 4 && buffer[^4] == '\r' && buffer[^3] == '\n' && buffer[^2] == '\r' && buffer[^1] == '\n'))
        {
            if (await stream.ReadAsync(one, timeout.Token) == 0)
            {
                break;
            }

            buffer.Add(one[0]);
        }

        var head = Encoding.ASCII.GetString([.. buffer]);
        var length = head.Split("\r\n").Select(l => l.Split(':', 2)).Where(p => p.Length == 2 && p[0].Trim().Equals("content-length", StringComparison.OrdinalIgnoreCase))
            .Select(p => int.Parse(p[1].Trim(), System.Globalization.CultureInfo.InvariantCulture)).FirstOrDefault();
        var body = new byte[length];
        var read = 0;
        while (read < length)
        {
            var n = await stream.ReadAsync(body.AsMemory(read), timeout.Token);
            if (n == 0)
            {
                break;
            }

            read += n;
        }

        return new Response(head.Split("\r\n")[0], head, Encoding.UTF8.GetString(body, 0, read));
    }

    /// <summary>TLS inside an accepted tunnel, trusting the proxy's CA, with the server name given.</summary>
    public static async Task<SslStream> StartTlsAsync(TcpClient client, string serverName, RemoteCertificateValidationCallback validate, CancellationToken cancellationToken)
    {
        var ssl = new SslStream(client.GetStream(), leaveInnerStreamOpen: false, validate);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = serverName,
            ApplicationProtocols = [SslApplicationProtocol.Http11],
        }, cancellationToken);
        return ssl;
    }
}
