using System.Text.Json;
using System.Text.Json.Nodes;

namespace Centaur.Sdk;

/// <summary>A workflow whose input binds to <typeparamref name="TInput"/> (schema generated from it) and whose result is JSON.</summary>
public abstract class Workflow<TInput, TResult> : IWorkflow
{
    public abstract string Name { get; }

    public abstract string Description { get; }

    public virtual WorkflowSchedule? Schedule => null;

    public JsonObject? InputSchema { get; } = ToolSchema.For(typeof(TInput));

    public async Task<JsonNode?> RunAsync(WorkflowContext context, JsonObject input, CancellationToken cancellationToken) =>
        JsonSerializer.SerializeToNode(await RunAsync(context, ToolSchema.Bind<TInput>(input), cancellationToken), ToolJson.Options);

    protected abstract Task<TResult> RunAsync(WorkflowContext context, TInput input, CancellationToken cancellationToken);
}
