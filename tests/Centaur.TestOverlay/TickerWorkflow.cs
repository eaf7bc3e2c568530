using System.Text.Json.Nodes;
using Centaur.Sdk;
using Microsoft.Extensions.Configuration;

namespace Centaur.TestOverlay;

/// <summary>Scheduled only when TestOverlay:TickerCron is set (the cron test), so other tests' APIs stay quiet.</summary>
public sealed class TickerWorkflow(IConfiguration configuration) : IWorkflow
{
    public string Name => "ticker";

    public string Description => "Records a tick per scheduled run.";

    public WorkflowSchedule? Schedule { get; } =
        configuration["TestOverlay:TickerCron"] is { Length: > 0 } cron ? new WorkflowSchedule(cron, Input: new JsonObject { ["tag"] = "tick" }) : null;

    public async Task<JsonNode?> RunAsync(WorkflowContext context, JsonObject input, CancellationToken cancellationToken)
    {
        await context.StepAsync("tick", ct => EffectLog.RecordAsync(context.Services, input["tag"]?.GetValue<string>() ?? "tick", $"run-{context.RunId}", ct));
        return null;
    }
}
