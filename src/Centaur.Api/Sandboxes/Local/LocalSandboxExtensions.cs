using Microsoft.Extensions.Options;

namespace Centaur.Api.Sandboxes.Local;

public static class LocalSandboxExtensions
{
    /// <summary>
    /// The local (bubblewrap) sandbox backend as <see cref="ISandboxBackend"/>, its options (section Sandbox, checked
    /// at start: no bubblewrap and no Sandbox:AllowUnisolated=true → the API refuses to start) and a /health entry.
    /// </summary>
    public static IHostApplicationBuilder AddLocalSandboxes(this IHostApplicationBuilder builder)
    {
        var centaurState = builder.Configuration["Centaur:StateDirectory"];
        builder.Services.AddOptions<LocalSandboxOptions>()
            .BindConfiguration(LocalSandboxOptions.Section)
            .PostConfigure(o => o.StateDirectory ??= centaurState is { Length: > 0 } ? Path.Combine(centaurState, "sandboxes") : null)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<LocalSandboxOptions>, LocalSandboxOptionsValidator>();
        builder.Services.AddSingleton<ApiSocketForwarder>();
        builder.Services.AddSingleton<SandboxTokenIssuer>();
        builder.Services.AddSingleton<LocalSandboxBackend>();
        builder.Services.AddSingleton<ISandboxBackend>(sp => sp.GetRequiredService<LocalSandboxBackend>());
        builder.Services.AddHealthChecks().AddCheck<LocalSandboxHealthCheck>("sandboxes");
        return builder;
    }
}

/// <summary>Refuses an unisolated setup unless asked for, and a missing runtime; lists every problem at once.</summary>
internal sealed class LocalSandboxOptionsValidator : IValidateOptions<LocalSandboxOptions>
{
    public ValidateOptionsResult Validate(string? name, LocalSandboxOptions options)
    {
        List<string> problems = [];
        if (BubblewrapInfo.Find(options.BubblewrapPath) is null && !options.AllowUnisolated)
        {
            problems.Add($"bubblewrap ('{options.BubblewrapPath}') was not found, so local sandboxes would not be isolated from this machine " +
                "or from each other. Install it (apt-get install bubblewrap), or set Sandbox:AllowUnisolated=true for development only.");
        }

        var runtime = LocalSandboxBackend.ResolveRuntimeDirectory(options);
        if (!File.Exists(Path.Combine(runtime, "centaur-sandbox.dll")))
        {
            problems.Add($"the sandbox runtime (centaur-sandbox.dll) is not in {runtime}: build src/Centaur.Sandbox or set Sandbox:RuntimeDirectory.");
        }

        if (options.EgressSocket is { Length: > 0 } socket && !Path.IsPathFullyQualified(socket))
        {
            problems.Add("Sandbox:EgressSocket must be an absolute path.");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
