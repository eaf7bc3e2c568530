using System.Text.Json;
using Centaur.Api.Deliveries;
using Centaur.Api.Events;
using Centaur.Api.Executions;
using Centaur.Api.Sandboxes;
using Centaur.Api.Sandboxes.Local;
using Centaur.Api.Sandboxes.Kubernetes;
using Centaur.Api.Sandboxes.Process;
using Centaur.Api.Threads;

namespace Centaur.Api;

internal static class ControlPlaneExtensions
{
    /// <summary>Threads, executions, the worker, event streams and the sandbox lifecycle.</summary>
    public static IHostApplicationBuilder AddControlPlane(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<CentaurOptions>().BindConfiguration(CentaurOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<SandboxOptions>().BindConfiguration(SandboxOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(TimeProvider.System);
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            o.SerializerOptions.DictionaryKeyPolicy = JsonNamingPolicy.SnakeCaseLower;
        });

        services.AddSingleton<ThreadStore>();
        services.AddSingleton<ExecutionStore>();
        services.AddSingleton<EventLog>();
        services.AddSingleton<ExecutionFinisher>();
        services.AddSingleton<SandboxSessionStore>();
        services.AddSingleton<StreamLimiter>();
        services.AddSingleton<ThreadTailCache>();
        services.AddSingleton<ChangeNotifier>();
        services.AddHostedService(sp => sp.GetRequiredService<ChangeNotifier>());
        services.AddSingleton<ExecutionWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<ExecutionWorker>());
        services.AddScoped<TurnDriver>();

        services.AddSingleton<SandboxManager>();
        services.AddSingleton<SandboxPool>();
        services.AddHostedService(sp => sp.GetRequiredService<SandboxPool>());
        services.AddHostedService<StateGauges>();
        services.AddSingleton<ReconcileService>();
        services.AddHostedService(sp => sp.GetRequiredService<ReconcileService>());
        builder.AddSandboxBackend();
        return builder;
    }

    /// <summary>The backend named by Sandbox:Backend. Each backend registers itself with one Add… call.</summary>
    private static void AddSandboxBackend(this IHostApplicationBuilder builder)
    {
        var backend = builder.Configuration[$"{SandboxOptions.Section}:Backend"] ?? "local";
        switch (backend)
        {
            case "local":
                builder.AddLocalSandboxes();
                break;
            case "kubernetes":
                builder.AddKubernetesSandboxes();
                break;
            case "process":
                builder.Services.AddOptions<ProcessSandboxOptions>().BindConfiguration($"{SandboxOptions.Section}:Process");
                builder.Services.AddSingleton<ISandboxBackend, ProcessSandboxBackend>();
                break;
            default:
                // An unknown name must not silently fall back to an unisolated backend.
                var reason = $"Sandbox:Backend '{backend}' is unknown; use local, kubernetes or (development only) process";
                builder.Services.AddSingleton<ISandboxBackend>(new UnavailableSandboxBackend(backend, reason));
                builder.Services.AddHealthChecks().AddCheck("sandbox-backend",
                    () => Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Degraded(reason));
                break;
        }
    }

    public static WebApplication MapControlPlane(this WebApplication app)
    {
        app.MapThreads();
        app.MapExecutions();
        app.MapEvents();
        app.MapDeliveries();
        return app;
    }
}
