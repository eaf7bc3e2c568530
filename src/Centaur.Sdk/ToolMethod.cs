using System.Text.Json;
using System.Text.Json.Nodes;

namespace Centaur.Sdk;

/// <summary>
/// One callable method: a JSON schema for its arguments and the code that runs it. The gateway checks the arguments
/// against the schema before the method runs, so a bad call is refused with the field it got wrong.
/// </summary>
public sealed record ToolMethod(string Name, string Description, JsonObject ArgumentsSchema,
    Func<ToolContext, JsonObject, CancellationToken, Task<JsonNode?>> InvokeAsync)
{
    /// <summary>A method whose arguments bind to <typeparamref name="TArgs"/>; its schema is generated from that record.</summary>
    public static ToolMethod Create<TArgs, TResult>(string name, string description,
        Func<ToolContext, TArgs, CancellationToken, Task<TResult>> handler) =>
        new(name, description, ToolSchema.For(typeof(TArgs)), async (context, args, cancellationToken) =>
        {
            var bound = ToolSchema.Bind<TArgs>(args);
            return JsonSerializer.SerializeToNode(await handler(context, bound, cancellationToken), ToolJson.Options);
        });

    /// <summary>A method that takes no arguments.</summary>
    public static ToolMethod Create<TResult>(string name, string description,
        Func<ToolContext, CancellationToken, Task<TResult>> handler) =>
        new(name, description, ToolSchema.Empty(), async (context, _, cancellationToken) =>
            JsonSerializer.SerializeToNode(await handler(context, cancellationToken), ToolJson.Options));
}
