using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Centaur.Api.Auth;
using Microsoft.Extensions.Options;

namespace Centaur.Api.Tools;

/// <summary>
/// HttpClients for tools that call upstreams themselves. With IronProxy configured (IronProxy:Url, set by the
/// AppHost) every request leaves through it as the calling thread's sandbox (its sbx1 token as proxy credentials),
/// trusting the proxy's CA for the intercepted TLS, so one audit trail covers all egress and placeholders become
/// secrets only on the wire. Without it (development) requests go out directly, private addresses refused.
/// </summary>
internal sealed class ToolEgress(
    IConfiguration configuration, IOptions<ToolOptions> options, SandboxTokenIssuer tokens,
    IHttpClientFactory httpClients, ILogger<ToolEgress> logger)
{
    private readonly Uri? _proxy = configuration["IronProxy:Url"] is { Length: > 0 } url ? new Uri(url) : null;
    private volatile X509Certificate2? _proxyCa;

    public bool ThroughProxy => _proxy is not null;

    /// <summary>Fetches the proxy's CA once (GET /ca.pem) so TLS through the proxy can be verified.</summary>
    public async Task EnsureReadyAsync(CancellationToken cancellationToken)
    {
        if (_proxy is null || _proxyCa is not null)
        {
            return;
        }

        try
        {
            using var http = httpClients.CreateClient(nameof(ToolEgress));
            var pem = await http.GetStringAsync(new Uri(_proxy, "/ca.pem"), cancellationToken);
            _proxyCa = X509Certificate2.CreateFromPem(pem);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or System.Security.Cryptography.CryptographicException)
        {
            // Not fatal here: a tool that then calls out over TLS fails with a certificate error, and the next call retries.
            ToolsLog.CaUnavailable(logger, ex, _proxy);
        }
    }

    public HttpClient Create(string threadKey, string sandboxId)
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = true,
            MaxAutomaticRedirections = 5,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.All,
            ConnectTimeout = TimeSpan.FromSeconds(15),
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
        };
        if (_proxy is not null)
        {
            handler.UseProxy = true;
            handler.Proxy = new WebProxy(_proxy) { Credentials = new NetworkCredential("sandbox", tokens.Issue(threadKey, sandboxId)) };
            handler.SslOptions.RemoteCertificateValidationCallback = ValidateThroughProxy;
        }
        else
        {
            handler.UseProxy = false;
            if (!options.Value.AllowPrivateAddresses)
            {
                handler.ConnectCallback = ConnectToPublicAsync;
            }
        }

        return new HttpClient(handler, disposeHandler: true)
        {
            Timeout = TimeSpan.FromSeconds(options.Value.UpstreamTimeoutSeconds),
            MaxResponseContentBufferSize = options.Value.MaxResponseBytes,
        };
    }

    /// <summary>The proxy re-signs every intercepted host with its CA; a host it passes through keeps a public chain.</summary>
    private bool ValidateThroughProxy(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }

        if (errors != SslPolicyErrors.RemoteCertificateChainErrors || certificate is null || _proxyCa is not { } ca)
        {
            return false;
        }

        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.Add(ca);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return custom.Build(leaf);
    }

    private static async ValueTask<Stream> ConnectToPublicAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, cancellationToken);
        if (addresses.Length == 0 || addresses.Any(IsPrivate))
        {
            throw new HttpRequestException($"{host} resolves to a private, loopback or link-local address; tools may only reach public hosts");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, context.DnsEndPoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    internal static bool IsPrivate(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            return true;
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            return address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6UniqueLocal || address.IsIPv6Multicast;
        }

        var b = address.GetAddressBytes();
        return b[0] is 10 or 0 or 127 || b[0] >= 224
            || (b[0] == 172 && b[1] is >= 16 and <= 31)
            || (b[0] == 192 && b[1] == 168)
            || (b[0] == 169 && b[1] == 254)
            || (b[0] == 100 && b[1] is >= 64 and <= 127);
    }
}
