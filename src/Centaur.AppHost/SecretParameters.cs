using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Configuration;

namespace Aspire.Hosting;

public static class SecretParameters
{
    /// <summary>
    /// A secret parameter that may be empty. Aspire would otherwise stop and ask for a value before starting the
    /// services that use it; Centaur's services instead start degraded and say which secret is missing on /health.
    /// Set it with user secrets or the environment: Parameters:&lt;name&gt; / Parameters__&lt;name&gt;.
    /// </summary>
    public static IResourceBuilder<ParameterResource> AddOptionalSecret(this IDistributedApplicationBuilder builder, string name)
    {
        var configuration = builder.Configuration;
        return builder.AddParameter(name, () => configuration[$"Parameters:{name}"] ?? "", secret: true);
    }

    /// <summary>A secret generated once and kept in the AppHost's user secrets (keys the services share).</summary>
    public static IResourceBuilder<ParameterResource> AddGeneratedSecret(this IDistributedApplicationBuilder builder, string name) =>
        builder.AddParameter(name, new GenerateParameterDefault { MinLength = 32, Special = false }, secret: true, persist: true);
}
