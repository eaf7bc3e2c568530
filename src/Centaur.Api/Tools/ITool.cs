using System.Text.Json.Nodes;

namespace Centaur.Api.Tools;

/// <summary>What a tool method knows about its caller: the thread and sandbox the token speaks for.</summary>
public sealed record ToolContext(string ThreadKey, string SandboxId, long? ExecutionId, string? TurnId, IServiceProvider Services);

/// <summary>One callable method: a JSON schema for its arguments and the code that runs it.</summary>
public sealed record ToolMethod(string Name, string Description, JsonObject ArgumentsSchema,
    Func<ToolContext, JsonObject, CancellationToken, Task<JsonNode?>> InvokeAsync);

/// <summary>A tool the agent reaches with <c>call &lt;tool&gt; &lt;method&gt; '&lt;json&gt;'</c> from its sandbox.</summary>
public interface ITool
{
    string Name { get; }

    string Description { get; }

    IReadOnlyList<ToolMethod> Methods { get; }
}

/// <summary>An argument the caller got wrong; becomes a 400 that names the field.</summary>
public sealed class ToolArgumentException(string field, string message) : Exception(message)
{
    public string Field { get; } = field;
}
