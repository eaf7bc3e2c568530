using Centaur.Api.Auth;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Centaur.Api.Sandboxes.Local;

public static class LocalSandboxExtensions
{
    /// <summary>
    /// The local (bubblewrap) sandbox backend as <see cref="ISandboxBackend"/>, its options (section Sandbox) and a
    /// /health entry. Without bubblewrap (and without Sandbox:AllowUnisolated=true) the local backend refuses to run:
    /// the API still starts, /health says why, and every sandbox start fails with that reason.
    /// </summary>
    public static IHostApplicationBuilder AddLocalSandboxes(this IHostApplicationBuilder builder)
    {
        var centaurState = builder.Configuration["Centaur:StateDirectory"];
        var overlay = builder.Configuration["Overlay:Path"];
        builder.Services.AddOptions<LocalSandboxOptions>()
            .BindConfiguration(LocalSandboxOptions.Section)
            .PostConfigure(o => o.StateDirectory ??= centaurState is { Length: > 0 } ? Path.Combine(centaurState, "sandboxes") : null)
            // The org overlay the API loads is the one sandboxes mount (its skills/ folder).
            .PostConfigure(o => o.OverlayDirectory ??= overlay is { Length: > 0 } ? Path.GetFullPath(overlay) : null)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        var options = builder.Configuration.GetSection(LocalSandboxOptions.Section).Get<LocalSandboxOptions>() ?? new LocalSandboxOptions();
        var problems = LocalSandboxOptionsValidator.Problems(options);
        if (problems.Count > 0)
        {
            var reason = string.Join(" ", problems);
            builder.Services.AddSingleton<ISandboxBackend>(new UnavailableSandboxBackend("local", reason));
            builder.Services.AddHealthChecks().AddCheck("sandboxes", () => HealthCheckResult.Unhealthy(reason));
            return builder;
        }

        builder.Services.TryAddSingletonSandboxTokenIssuer();
        builder.Services.AddSingleton<ApiSocketForwarder>();
        builder.Services.AddSingleton<LocalSandboxBackend>();
        builder.Services.AddSingleton<ISandboxBackend>(sp => sp.GetRequiredService<LocalSandboxBackend>());
        builder.Services.AddHealthChecks().AddCheck<LocalSandboxHealthCheck>("sandboxes");
        return builder;
    }

    // The control plane registers the issuer with its auth; a host that uses only the backend gets its own.
    private static void TryAddSingletonSandboxTokenIssuer(this IServiceCollection services)
    {
        if (!services.Any(d => d.ServiceType == typeof(SandboxTokenIssuer)))
        {
            services.AddOptions<CentaurOptions>().BindConfiguration(CentaurOptions.Section);
            services.AddSingleton<SandboxTokenIssuer>();
            services.AddSingleton(TimeProvider.System);
        }
    }
}

/// <summary>Why the local backend cannot run here; every problem at once.</summary>
internal sealed class LocalSandboxOptionsValidator : IValidateOptions<LocalSandboxOptions>
{
    public ValidateOptionsResult Validate(string? name, LocalSandboxOptions options)
    {
        var problems = Problems(options);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    public static List<string> Problems(LocalSandboxOptions options)
    {
        List<string> problems = [];
        if (BubblewrapInfo.Find(options.BubblewrapPath) is null && !options.AllowUnisolated)
        {
            problems.Add($"bubblewrap ('{options.BubblewrapPath}') was not found, so local sandboxes would not be isolated from this machine " +
                "or from each other. Install it (apt-get install bubblewrap), or set Sandbox:AllowUnisolated=true for development only.");
        }

        var runtime = LocalSandboxBackend.ResolveRuntimeDirectory(options);
        if (!File.Exists(Path.Combine(runtime, SandboxCommand.RuntimeBinary)))
        {
            problems.Add($"The sandbox runtime ({SandboxCommand.RuntimeBinary}) is not in {runtime}: build src/Centaur.Api (it publishes src/Centaur.Sandbox there) or set Sandbox:RuntimeDirectory.");
        }

        if (options.EgressSocket is { Length: > 0 } socket && !Path.IsPathFullyQualified(socket))
        {
            problems.Add("Sandbox:EgressSocket must be an absolute path.");
        }

        return problems;
    }
}
