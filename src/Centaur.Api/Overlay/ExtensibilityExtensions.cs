using Centaur.Api.Personas;
using Centaur.Api.Tools;
using Centaur.Api.Tools.BuiltIn;
using Centaur.Api.Workflows;
using Centaur.Api.Workflows.BuiltIn;
using Centaur.Sdk;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Centaur.Api.Overlay;

internal static class ExtensibilityExtensions
{
    /// <summary>Tools (gateway and built-ins), workflows (worker and scheduler), personas, and the org overlay they merge with.</summary>
    public static IHostApplicationBuilder AddExtensibility(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<OverlayOptions>().BindConfiguration(OverlayOptions.Section);
        services.AddOptions<ToolOptions>().BindConfiguration(ToolOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<SlackToolOptions>().BindConfiguration(SlackToolOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<WorkflowOptions>().BindConfiguration(WorkflowOptions.Section).ValidateDataAnnotations().ValidateOnStart();

        services.AddSingleton<ExtensionCatalog>();
        services.AddHostedService<OverlayStartup>();
        services.AddSingleton<PersonaSwitch>();

        services.AddHttpClient();
        services.AddSingleton<ToolEgress>();
        services.AddSingleton<Sandboxes.ISandboxPrompts, SandboxPrompts>();
        services.AddSingleton<ITool, CentaurTool>();
        services.AddSingleton<ITool, SlackTool>();
        services.AddSingleton<ITool, WebTool>();

        services.AddSingleton<IWorkflow, AgentTurnWorkflow>();
        services.AddSingleton<IWorkflow, EchoWorkflow>();
        services.AddSingleton<WorkflowStore>();
        services.AddSingleton<WorkflowSignal>();
        services.AddHostedService<WorkflowWorker>();
        services.AddHostedService<WorkflowScheduler>();

        services.AddHealthChecks()
            .AddCheck<OverlayHealthCheck>("overlay")
            .AddCheck("tool-egress", () => string.IsNullOrEmpty(builder.Configuration["IronProxy:Url"])
                ? HealthCheckResult.Degraded("IronProxy:Url is empty: tools call upstreams directly, outside the egress audit")
                : HealthCheckResult.Healthy());
        return builder;
    }

    public static WebApplication MapExtensibility(this WebApplication app)
    {
        app.MapTools();
        app.MapWorkflows();
        app.MapPersonas();
        app.MapOverlay();
        return app;
    }
}
