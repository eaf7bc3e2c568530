using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.AspNetCore.Http.Features;

namespace Centaur.IronProxy.Tunnel;

/// <summary>
/// Tells Kestrel the connection is TLS and which protocol ALPN chose: that is how it picks HTTP/2 or HTTP/1.1 for
/// the decrypted stream, exactly as for its own HTTPS endpoints.
/// </summary>
internal sealed class TunnelTlsFeature(ReadOnlyMemory<byte> applicationProtocol) : ITlsConnectionFeature, ITlsApplicationProtocolFeature
{
    public ReadOnlyMemory<byte> ApplicationProtocol { get; } = applicationProtocol;

    public X509Certificate2? ClientCertificate { get; set; }

    public Task<X509Certificate2?> GetClientCertificateAsync(CancellationToken cancellationToken) => Task.FromResult<X509Certificate2?>(null);
}
