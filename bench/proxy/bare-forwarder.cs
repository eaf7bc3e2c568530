#:sdk Microsoft.NET.Sdk.Web
#:package Yarp.ReverseProxy

// The floor for the proxy benchmark: YARP's IHttpForwarder on Kestrel and nothing else (no identity, policy,
// credential swap, audit, telemetry), with the same upstream client settings as IronProxy (HTTP/2 first, no
// decompression, cookies or redirects). What IronProxy costs above this row is its own work; what this row costs
// above direct is the price of any Kestrel + YARP hop on these cores. With --tls-port and --tls-pfx (the fake
// upstream's throwaway certificate) it also terminates TLS, HTTP/1.1 and HTTP/2: the floor for the MITM path, since
// a CONNECT tunnel is a TLS hop.
using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Yarp.ReverseProxy.Forwarder;

var port = int.Parse(args[Array.IndexOf(args, "--port") + 1], CultureInfo.InvariantCulture);
var upstream = args[Array.IndexOf(args, "--upstream") + 1];

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.Services.AddHttpForwarder();
var tlsPort = Array.IndexOf(args, "--tls-port") is var at and >= 0 ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : 0;
var tlsPfx = tlsPort > 0 ? args[Array.IndexOf(args, "--tls-pfx") + 1] : null;
builder.WebHost.ConfigureKestrel(k =>
{
    k.Listen(IPAddress.Loopback, port);
    if (tlsPort > 0)
    {
        k.Listen(IPAddress.Loopback, tlsPort, l =>
        {
            l.Protocols = HttpProtocols.Http1AndHttp2;
            l.UseHttps(X509CertificateLoader.LoadPkcs12FromFile(tlsPfx!, null));
        });
    }
});
var app = builder.Build();

using var invoker = new HttpMessageInvoker(new SocketsHttpHandler
{
    UseProxy = false,
    AllowAutoRedirect = false,
    AutomaticDecompression = DecompressionMethods.None,
    UseCookies = false,
    EnableMultipleHttp2Connections = true,
    // The fake upstream's self-signed certificate; the bench measures forwarding, not chain building.
    SslOptions = new() { RemoteCertificateValidationCallback = (_, _, _, _) => true },
});
var config = new ForwarderRequestConfig
{
    ActivityTimeout = TimeSpan.FromSeconds(600),
    Version = HttpVersion.Version20,
    VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
};
var forwarder = app.Services.GetRequiredService<IHttpForwarder>();
app.Run(async context => await forwarder.SendAsync(context, upstream, invoker, config, HttpTransformer.Default));
app.Run();
