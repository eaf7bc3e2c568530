using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Caching.Memory;

namespace Centaur.IronProxy.Certificates;

/// <summary>
/// The proxy's own CA: ECDSA P-256, created once in <see cref="IronProxyOptions.CaDirectory"/> and reused on every
/// start. It mints a leaf per dialled host, signed by the CA, all sharing one ECDSA key (an RSA key costs ~400 ms
/// per leaf; ECDSA ~1 ms), and keeps the ready SslStream contexts in a size-bounded cache.
/// </summary>
internal sealed class CertificateAuthority : IDisposable
{
    private static readonly TimeSpan s_leafLifetime = TimeSpan.FromDays(30);

    private readonly X509Certificate2 _ca;
    private readonly ECDsa _caKey;
    private readonly ECDsa _leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly X509AuthorityKeyIdentifierExtension _authorityKeyId;
    private readonly X509Certificate2Collection _chain;
    private readonly MemoryCache _leaves;
    private readonly TimeProvider _time;

    private CertificateAuthority(X509Certificate2 ca, int cacheSize, TimeProvider time)
    {
        _ca = ca;
        _caKey = ca.GetECDsaPrivateKey() ?? throw new InvalidOperationException("The CA certificate has no ECDSA private key.");
        _authorityKeyId = X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, includeKeyIdentifier: true, includeIssuerAndSerial: false);
        _chain = [X509CertificateLoader.LoadCertificate(ca.RawData)];
        _leaves = new MemoryCache(new MemoryCacheOptions { SizeLimit = cacheSize, TrackStatistics = false });
        _time = time;
        CertificatePem = ca.ExportCertificatePem() + "\n";
    }

    /// <summary>The CA certificate (never its key): what sandboxes install as trusted.</summary>
    public string CertificatePem { get; }

    public X509Certificate2 Certificate => _ca;

    public static CertificateAuthority LoadOrCreate(string directory, int cacheSize, TimeProvider time)
    {
        Directory.CreateDirectory(directory);
        var certPath = Path.Combine(directory, "ca.pem");
        var keyPath = Path.Combine(directory, "ca.key");

        // Two proxies starting together over one folder must end with one CA: creation happens under a file lock.
        using var lockFile = AcquireLock(Path.Combine(directory, ".lock"));
        if (!File.Exists(certPath) || !File.Exists(keyPath))
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            using var created = CreateCa(key, time.GetUtcNow());
            WriteAtomically(keyPath, key.ExportPkcs8PrivateKeyPem(), UnixFileMode.UserRead | UnixFileMode.UserWrite);
            WriteAtomically(certPath, created.ExportCertificatePem() + "\n",
                UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }

        var ca = X509Certificate2.CreateFromPemFile(certPath, keyPath);
        return new CertificateAuthority(ca, cacheSize, time);
    }

    /// <summary>A TLS server context for <paramref name="host"/>, minted on first use and cached until half its life.</summary>
    public SslStreamCertificateContext GetServerContext(string host)
    {
        host = host.ToLowerInvariant();
        if (_leaves.TryGetValue(host, out Lazy<SslStreamCertificateContext>? cached) && cached is not null)
        {
            return cached.Value;
        }

        // Lazy: concurrent first handshakes for one host mint once.
        var lazy = new Lazy<SslStreamCertificateContext>(() => Mint(host));
        using (var entry = _leaves.CreateEntry(host))
        {
            entry.Value = lazy;
            entry.Size = 1;
            entry.AbsoluteExpirationRelativeToNow = s_leafLifetime / 2;
        }

        return lazy.Value;
    }

    private SslStreamCertificateContext Mint(string host)
    {
        var now = _time.GetUtcNow();
        var request = new CertificateRequest($"CN={SanitizeCn(host)}", _leafKey, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        if (IPAddress.TryParse(host.Trim('[', ']'), out var ip))
        {
            san.AddIpAddress(ip);
        }
        else
        {
            san.AddDnsName(host);
        }

        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        // Strict verifiers (Python 3.13's VERIFY_X509_STRICT) require the authority key identifier.
        request.CertificateExtensions.Add(_authorityKeyId);

        var notAfter = now + s_leafLifetime;
        if (notAfter > _ca.NotAfter)
        {
            notAfter = _ca.NotAfter;
        }

        using var signed = request.Create(_ca.SubjectName, X509SignatureGenerator.CreateForECDsa(_caKey), now.AddDays(-1), notAfter, Serial());
        var leaf = signed.CopyWithPrivateKey(_leafKey);
        return SslStreamCertificateContext.Create(leaf, _chain, offline: true);
    }

    private static X509Certificate2 CreateCa(ECDsa key, DateTimeOffset now)
    {
        var request = new CertificateRequest("CN=Centaur IronProxy CA, O=Centaur", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(now.AddDays(-1), now.AddYears(5));
    }

    private static byte[] Serial()
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f; // positive
        return serial;
    }

    private static string SanitizeCn(string host) => host.Replace(",", "", StringComparison.Ordinal).Replace("=", "", StringComparison.Ordinal);

    private static FileStream AcquireLock(string path)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (attempt < 100)
            {
                Thread.Sleep(100);
            }
        }
    }

    private static void WriteAtomically(string path, string content, UnixFileMode mode)
    {
        var temp = path + ".tmp";
        File.Delete(temp);
        using (var stream = OperatingSystem.IsWindows()
                   ? new FileStream(temp, FileMode.CreateNew)
                   : new FileStream(temp, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = mode }))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(content);
        }

        File.Move(temp, path, overwrite: true);
    }

    public void Dispose()
    {
        _leaves.Dispose();
        _leafKey.Dispose();
        _caKey.Dispose();
        _ca.Dispose();
        foreach (var certificate in _chain)
        {
            certificate.Dispose();
        }
    }
}
