using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Centaur.Tests.Fakes;

/// <summary>
/// A private CA and one server certificate signed by it, for fakes that stand in for real HTTPS hosts
/// (api.anthropic.com, github.com…): the proxy verifies upstream certificates, so the fakes need real ones.
/// ECDSA P-256, valid from yesterday for a month.
/// </summary>
public sealed class FakeCertificates : IDisposable
{
    private FakeCertificates(X509Certificate2 ca, X509Certificate2 server)
    {
        Ca = ca;
        Server = server;
    }

    public X509Certificate2 Ca { get; }

    /// <summary>The server certificate with its private key, for Kestrel's UseHttps.</summary>
    public X509Certificate2 Server { get; }

    public string CaPem => Ca.ExportCertificatePem();

    public static FakeCertificates Create(string caName, IEnumerable<string> dnsNames)
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest($"CN={caName}", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));

        using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var leafRequest = new CertificateRequest($"CN={dnsNames.First()}", leafKey, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in dnsNames)
        {
            san.AddDnsName(name);
        }

        san.AddIpAddress(IPAddress.Loopback);
        leafRequest.CertificateExtensions.Add(san.Build());
        leafRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        leafRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        using var signed = leafRequest.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(29), [1, 2, 3, 4]);
        // Through PKCS#12 so that the key is usable by SslStream on Linux (an ephemeral key is not).
        var server = X509CertificateLoader.LoadPkcs12(signed.CopyWithPrivateKey(leafKey).Export(X509ContentType.Pkcs12), null);
        return new FakeCertificates(ca, server);
    }

    public void Dispose()
    {
        Ca.Dispose();
        Server.Dispose();
    }
}
