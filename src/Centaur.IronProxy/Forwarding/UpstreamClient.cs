using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Centaur.IronProxy.Policy;

namespace Centaur.IronProxy.Forwarding;

/// <summary>
/// The one upstream HttpMessageInvoker both modes share: no ambient proxy, redirects, cookies or decompression
/// (responses pass through as they are), no trace headers (they would tie requests to the sandbox), pooled
/// connections recycled so DNS changes are seen, and a connect callback that resolves DNS itself and applies
/// the address guard and per-host overrides.
/// </summary>
internal sealed class UpstreamClient : IDisposable
{
    private readonly PolicyStore _policies;

    public UpstreamClient(PolicyStore policies)
    {
        _policies = policies;
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = TimeSpan.FromSeconds(15),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(90),
            ActivityHeadersPropagator = DistributedContextPropagator.CreateNoOutputPropagator(),
            ConnectCallback = ConnectAsync,
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = ValidateCertificate },
        };
        Invoker = new HttpMessageInvoker(handler, disposeHandler: true);
    }

    public HttpMessageInvoker Invoker { get; }

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        var rule = _policies.Current.Resolve(host).Rule;
        IPAddress[] addresses;
        var port = context.DnsEndPoint.Port;
        if (rule?.ConnectTo is { } connectTo)
        {
            addresses = [connectTo.Address];
            port = connectTo.Port;
        }
        else
        {
            addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal)
                ? [literal]
                : await Dns.GetHostAddressesAsync(host, cancellationToken);
        }

        var allowPrivate = rule?.AllowPrivate == true;
        Exception? last = null;
        foreach (var address in addresses)
        {
            if (!allowPrivate && !AddressGuard.IsPublic(address))
            {
                last ??= new DestinationBlockedException(host, address);
                continue;
            }

            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                last = ex;
            }
        }

        throw last ?? new SocketException((int)SocketError.HostNotFound);
    }

    // The system store first; a host's own trusted CA (private PKI, test fakes) only for that host's name.
    private bool ValidateCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }

        if (errors != SslPolicyErrors.RemoteCertificateChainErrors || certificate is null || sender is not SslStream stream
            || _policies.Current.Resolve(stream.TargetHostName).Rule?.TrustedCa is not { } trusted)
        {
            return false;
        }

        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.Add(trusted);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            foreach (var element in chain.ChainElements.Skip(1))
            {
                custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        return custom.Build(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
    }

    public void Dispose() => Invoker.Dispose();
}
