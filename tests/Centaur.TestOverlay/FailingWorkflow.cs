using System.Text.Json.Nodes;
using Centaur.Sdk;

namespace Centaur.TestOverlay;

/// <summary>Always throws after a step: retried with backoff, then failed with the error recorded.</summary>
public sealed class FailingWorkflow : IWorkflow
{
    public string Name => "always_fails";

    public string Description => "Fails every time.";

    public async Task<JsonNode?> RunAsync(WorkflowContext context, JsonObject input, CancellationToken cancellationToken)
    {
        await context.StepAsync("ok", ct => EffectLog.RecordAsync(context.Services, input["tag"]?.GetValue<string>() ?? "fail", "ok", ct));
        throw new InvalidOperationException("the upstream said no");
    }
}
