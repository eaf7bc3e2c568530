using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Configuration;

namespace Aspire.Hosting;

public static class EndpointPorts
{
    /// <summary>
    /// The launch profile gives each service its documented port (API 5080, Slack 5081, IronProxy 5082); a
    /// <c>Ports:&lt;resource&gt;</c> setting (or CENTAUR_PORTS__API…) moves it without editing files.
    /// </summary>
    public static IResourceBuilder<T> WithPortOverride<T>(this IResourceBuilder<T> resource, IConfiguration configuration)
        where T : IResourceWithEndpoints
    {
        if (configuration.GetValue<int?>($"Ports:{resource.Resource.Name}") is { } port)
        {
            resource.WithEndpoint("http", endpoint => endpoint.Port = port);
        }

        return resource;
    }
}
