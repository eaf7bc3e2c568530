using System.Text.Json.Nodes;
using Centaur.Sdk;

namespace Centaur.Api.Workflows.BuiltIn;

/// <summary>Returns its input from a stored step: a smoke test for the trigger → worker → store path.</summary>
internal sealed class EchoWorkflow : IWorkflow
{
    public string Name => "echo";

    public string Description => "Returns its input (from a durable step).";

    public Task<JsonNode?> RunAsync(WorkflowContext context, JsonObject input, CancellationToken cancellationToken) =>
        context.StepAsync<JsonNode?>("echo", _ => Task.FromResult<JsonNode?>(input.DeepClone()));
}
