using Aspire.Hosting.ApplicationModel;

namespace Aspire.Hosting;

public static class CentaurDatabaseExtensions
{
    /// <summary>
    /// The one Postgres database every service shares, by <c>Postgres:Mode</c>: <c>local</c> (default: the machine's
    /// binaries, no container runtime needed), <c>container</c> (Aspire's AddPostgres; only where a runtime exists,
    /// because without one the AppHost waits forever), or <c>external</c> (<c>ConnectionStrings:centaur</c>).
    /// Publishing always models a container so the manifests name an image, not host paths.
    /// </summary>
    public static IResourceBuilder<IResourceWithConnectionString> AddCentaurDatabase(
        this IDistributedApplicationBuilder builder, string serverName, string databaseName)
    {
        var mode = builder.ExecutionContext.IsPublishMode ? "container" : builder.Configuration["Postgres:Mode"] ?? "local";
        return mode switch
        {
            "local" => builder.AddLocalPostgres(serverName, databaseName),
            "container" => builder.AddPostgres(serverName).WithDataVolume().AddDatabase(databaseName),
            "external" => builder.AddConnectionString(databaseName),
            _ => throw new InvalidOperationException($"Postgres:Mode must be local, container or external, not '{mode}'."),
        };
    }
}
