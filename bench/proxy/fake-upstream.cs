#:sdk Microsoft.NET.Sdk.Web

// A fake upstream for the proxy benchmark (the real APIs are not reachable here): HTTPS on 127.0.0.1 with HTTP/1.1
// and HTTP/2, a self-signed ECDSA certificate for 127.0.0.1 and bench.test (its PEM written to --ca-out), and one
// endpoint answering a small JSON body, the size of a short LLM API reply.
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;

var port = int.Parse(args[Array.IndexOf(args, "--port") + 1], System.Globalization.CultureInfo.InvariantCulture);
var caOut = args[Array.IndexOf(args, "--ca-out") + 1];

using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
var request = new CertificateRequest("CN=bench.test", key, HashAlgorithmName.SHA256);
var san = new SubjectAlternativeNameBuilder();
san.AddDnsName("bench.test");
san.AddIpAddress(IPAddress.Loopback);
request.CertificateExtensions.Add(san.Build());
request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyCertSign, true));
using var self = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
File.WriteAllText(caOut, self.ExportCertificatePem() + "\n");
var pkcs12 = self.Export(X509ContentType.Pkcs12);
if (Array.IndexOf(args, "--pfx-out") is var at and >= 0)
{
    File.WriteAllBytes(args[at + 1], pkcs12); // the bench's TLS floor serves the same throwaway certificate
}

var certificate = X509CertificateLoader.LoadPkcs12(pkcs12, null);

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, l =>
{
    l.Protocols = HttpProtocols.Http1AndHttp2;
    l.UseHttps(certificate);
}));
var app = builder.Build();
var body = """{"id":"msg_bench","type":"message","role":"assistant","content":[{"type":"text","text":"ok"}]}"""u8.ToArray();
app.Run(async context =>
{
    // Read the request like a real API does (answering before the body is read makes HTTP/2 clients reset the stream).
    await context.Request.Body.CopyToAsync(Stream.Null);
    context.Response.ContentType = "application/json";
    context.Response.ContentLength = body.Length;
    await context.Response.Body.WriteAsync(body);
});
app.Run();
