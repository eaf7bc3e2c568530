using System.Net.Sockets;
using Centaur.IronProxy.Audit;
using Centaur.IronProxy.Certificates;
using Centaur.IronProxy.Forwarding;
using Centaur.IronProxy.Identity;
using Centaur.IronProxy.Policy;
using Centaur.IronProxy.Secrets;
using Centaur.IronProxy.Tunnel;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Centaur.IronProxy;

internal static class IronProxyExtensions
{
    private const string DefaultUrl = "http://127.0.0.1:5082";

    public static WebApplicationBuilder AddIronProxy(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<IronProxyOptions>().BindConfiguration(IronProxyOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<SandboxTokenOptions>().BindConfiguration(SandboxTokenOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);

        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<IronProxyOptions>>().Value;
            var ca = CertificateAuthority.LoadOrCreate(options.CaDirectory, options.CertificateCacheSize, sp.GetRequiredService<TimeProvider>());
            sp.GetRequiredService<ILogger<CertificateAuthority>>().CertificateAuthorityReady(options.CaDirectory);
            return ca;
        });
        services.AddSingleton<PolicyStore>();
        services.AddSingleton<PolicyLoader>();
        services.AddHostedService<PolicyListener>();
        services.AddSingleton<SandboxAuthenticator>();
        services.AddSingleton<ISecretStore, ConfigurationSecretStore>();
        services.AddSingleton<AuditLog>();
        services.AddSingleton<Tracing.TurnTraces>();
        services.AddHostedService<Tracing.TurnTraceListener>();
        services.AddHostedService<AuditWriter>();
        services.AddSingleton<BlockedHostNotifier>();
        services.AddHostedService(sp => sp.GetRequiredService<BlockedHostNotifier>());
        services.AddSingleton<SideEffectLedger>();
        services.AddSingleton<UpstreamClient>();
        services.AddSingleton<CredentialInjector>();
        services.AddSingleton<EgressTransformer>();
        services.AddSingleton<EgressForwarder>();
        services.AddSingleton<ConnectTunnelMiddleware>();
        services.AddHttpForwarder();

        // ASP.NET Core starts an activity for every request whenever this category logs at all (for its log scope):
        // an egress request has its own span, and the proxy's request start and finish lines are not worth one.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);

        services.AddHealthChecks()
            .AddCheck<PolicyStore>("policy")
            .AddSecretCheck("anthropic-api-key", "Secrets:anthropic-api-key")
            .AddSecretCheck("openai-api-key", "Secrets:openai-api-key");

        builder.ConfigureListeners();
        return builder;
    }

    /// <summary>
    /// Every listener (the URLs the host was given, and the Unix socket) runs the CONNECT middleware in front of
    /// Kestrel's HTTP handling: endpoint defaults apply to listeners bound from URLs, so the socket joins them as
    /// an <c>http://unix:</c> URL.
    /// </summary>
    private static void ConfigureListeners(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        List<string> urls = configuration["urls"] is { Length: > 0 } configured
            ? [.. configured.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)]
            : configuration["http_ports"] is { Length: > 0 } ports
                ? [.. ports.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(p => $"http://*:{p}")]
                : [DefaultUrl];
        if (urls.Any(u => u.StartsWith("https:", StringComparison.OrdinalIgnoreCase)))
        {
            throw new InvalidOperationException("IronProxy listens on plain http only: TLS is terminated inside CONNECT tunnels.");
        }

        var socketPath = configuration[$"{IronProxyOptions.Section}:{nameof(IronProxyOptions.UnixSocketPath)}"];
        if (!string.IsNullOrEmpty(socketPath))
        {
            PrepareSocketPath(socketPath);
            urls.Add($"http://unix:{Path.GetFullPath(socketPath)}");
        }

        builder.WebHost.UseUrls([.. urls]);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = null; // uploads stream through; the default 30 MB would cut them
            var tunnel = kestrel.ApplicationServices.GetRequiredService<ConnectTunnelMiddleware>();
            kestrel.ConfigureEndpointDefaults(listen =>
            {
                // Kestrel warns at start that HTTP/2 needs TLS: true for the plain port, but inside tunnels ALPN
                // (set by the middleware) selects HTTP/2.
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.Use(next => connection => tunnel.OnConnectionAsync(connection, next));
            });
        });
    }

    /// <summary>A socket file left by a crashed proxy is removed; one that still answers belongs to a live proxy.</summary>
    private static void PrepareSocketPath(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        if (!File.Exists(path))
        {
            return;
        }

        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException)
        {
            File.Delete(path);
            return;
        }

        throw new InvalidOperationException($"Another process is listening on {path}.");
    }

    /// <summary>Sandboxes run as other users: the socket must be connectable by them (the sandbox token still decides).</summary>
    public static void OpenUnixSocket(this WebApplication app)
    {
        var path = app.Configuration[$"{IronProxyOptions.Section}:{nameof(IronProxyOptions.UnixSocketPath)}"];
        if (!string.IsNullOrEmpty(path))
        {
            app.Lifetime.ApplicationStarted.Register(() =>
            {
                if (!OperatingSystem.IsWindows())
                {
                    File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead
                        | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite);
                }
            });
        }
    }
}
