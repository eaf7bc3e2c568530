using System.Text.Json.Nodes;
using Centaur.Sdk;

namespace Centaur.TestOverlay;

/// <summary>A step, a durable sleep long enough to release the run, and another step.</summary>
public sealed class SleeperWorkflow : IWorkflow
{
    public string Name => "sleeper";

    public string Description => "Sleeps between two steps.";

    public async Task<JsonNode?> RunAsync(WorkflowContext context, JsonObject input, CancellationToken cancellationToken)
    {
        var tag = input["tag"]?.GetValue<string>() ?? "sleeper";
        var seconds = input["seconds"]?.GetValue<int>() ?? 3;
        await context.StepAsync("before", ct => EffectLog.RecordAsync(context.Services, tag, "before", ct));
        await context.SleepAsync(TimeSpan.FromSeconds(seconds));
        await context.StepAsync("after", ct => EffectLog.RecordAsync(context.Services, tag, "after", ct));
        return new JsonObject { ["slept"] = seconds, ["attempt"] = context.Attempt };
    }
}
