using Centaur.Api.Auth;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.StaticAssets;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Centaur.Tests.EndToEnd;

/// <summary>
/// Centaur.Api built in process only to read its EndpointDataSource: what the app really maps, as method and route
/// pattern. Its hosted services (migrations, workers, pools) are removed, so it touches no database.
/// (Typed by a Centaur.Api type: <c>Program</c> is ambiguous here, the AppHost's and the CLI's are visible too.)
/// </summary>
internal sealed class ApiEndpointCatalog : WebApplicationFactory<SandboxToken>
{
    public IReadOnlyList<(string Method, string Pattern)> Endpoints()
    {
        var source = Services.GetRequiredService<EndpointDataSource>();
        return
        [
            .. source.Endpoints.OfType<RouteEndpoint>()
                // Files of wwwroot (one endpoint per file and encoding): GET/HEAD, anonymous; swept as "(any path)".
                .Where(e => e.Metadata.GetMetadata<StaticAssetDescriptor>() is null)
                .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["*"]).Select(m => (m, "/" + e.RoutePattern.RawText!.TrimStart('/'))))
                .Distinct()
                .OrderBy(e => e.Item2, StringComparer.Ordinal).ThenBy(e => e.m, StringComparer.Ordinal),
        ];
    }

    /// <summary>The static files, to check they are only ever readable.</summary>
    public IReadOnlyList<(IReadOnlyList<string> Methods, bool Anonymous)> StaticAssets() =>
    [
        .. Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<StaticAssetDescriptor>() is not null)
            .Select(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["*"],
                e.Metadata.GetMetadata<Microsoft.AspNetCore.Authorization.IAuthorizeData>() is null)),
    ];

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting("ConnectionStrings:centaur", "Host=127.0.0.1;Port=1;Database=none;Username=none;Password=none");
        builder.UseSetting("Centaur:SandboxTokenKey", "catalog-sandbox-token-key-0123456789");
        builder.UseSetting("Sandbox:Backend", "process");
        builder.ConfigureTestServices(services =>
        {
            var api = typeof(SandboxToken).Assembly;
            foreach (var hosted in services.Where(d => d.ServiceType == typeof(IHostedService)
                         && (d.ImplementationType is null || d.ImplementationType.Assembly == api)).ToList())
            {
                services.Remove(hosted);
            }
        });
    }
}
