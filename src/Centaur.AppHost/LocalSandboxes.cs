using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Configuration;

namespace Aspire.Hosting;

/// <summary>How the API's local (bubblewrap) sandboxes are wired when the AppHost runs the app on one machine.</summary>
public static class LocalSandboxes
{
    /// <summary>
    /// Sandboxes on this machine have no network: their only way out is IronProxy's Unix socket, bind-mounted into
    /// each, and they trust the proxy's CA (its certificate, never its key). Both live in the state folder, next to
    /// the embedded Postgres. The AppHost's <c>Sandbox</c> settings reach the API as they are, so one command line
    /// (<c>dotnet run --project src/Centaur.AppHost -- Sandbox:WarmPoolSize=2</c>) configures sandboxes.
    /// Run mode only: in a cluster the Kubernetes backend and the manifests decide.
    /// </summary>
    public static void WireLocalSandboxes(this IDistributedApplicationBuilder builder,
        IResourceBuilder<ProjectResource> api, IResourceBuilder<ProjectResource> ironproxy)
    {
        if (!builder.ExecutionContext.IsRunMode)
        {
            return;
        }

        var state = CentaurState.DirectoryOf(builder);
        api.WithEnvironment("Centaur__StateDirectory", state);
        foreach (var (key, value) in builder.Configuration.GetSection("Sandbox").AsEnumerable(makePathsRelative: true))
        {
            if (value is not null)
            {
                api.WithEnvironment($"Sandbox__{key.Replace(":", "__", StringComparison.Ordinal)}", value);
            }
        }

        if ((builder.Configuration["Sandbox:Backend"] ?? "local") != "local")
        {
            return;
        }

        var proxyDirectory = Path.Combine(state, "ironproxy");
        var socket = builder.Configuration["IronProxy:UnixSocketPath"] is { Length: > 0 } configured ? configured : Path.Combine(proxyDirectory, "egress.sock");
        var caDirectory = builder.Configuration["IronProxy:CaDirectory"] is { Length: > 0 } ca ? ca : proxyDirectory;
        ironproxy.WithEnvironment("IronProxy__UnixSocketPath", socket)
            .WithEnvironment("IronProxy__CaDirectory", caDirectory);
        api.WithEnvironment("Sandbox__EgressSocket", builder.Configuration["Sandbox:EgressSocket"] ?? socket)
            .WithEnvironment("Sandbox__ProxyCaFile", builder.Configuration["Sandbox:ProxyCaFile"] ?? Path.Combine(caDirectory, "ca.pem"));
    }
}

/// <summary>The folder for everything the app keeps on this machine (Postgres data, sandbox homes, the proxy's CA).</summary>
internal static class CentaurState
{
    public static string DirectoryOf(IDistributedApplicationBuilder builder) => Path.GetFullPath(
        builder.Configuration["Centaur:StateDirectory"] ?? Path.Combine(builder.AppHostDirectory, "..", "..", ".centaur"));
}
