using System.Text.Json.Nodes;
using Centaur.Api.Threads;

namespace Centaur.Api.Tools;

/// <summary>The agent's view of Centaur itself: the status of its own thread, and the threads it may know of.</summary>
internal sealed class CentaurTool : ITool
{
    public string Name => "centaur";

    public string Description => "Centaur itself: this thread's status and the team's recent threads.";

    public IReadOnlyList<ToolMethod> Methods { get; } =
    [
        new("thread_status", "The state of this thread: sandbox, harness, persona, last activity.",
            new JsonObject { ["type"] = "object", ["properties"] = new JsonObject(), ["additionalProperties"] = false },
            async (context, _, cancellationToken) =>
            {
                var threads = context.Services.GetRequiredService<ThreadStore>();
                var session = await threads.GetSessionAsync(context.ThreadKey, cancellationToken);
                return session is null ? null : System.Text.Json.JsonSerializer.SerializeToNode(session, ToolJson.Options);
            }),
        new("list_threads", "Recent threads of the team (newest first).",
            new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject { ["limit"] = new JsonObject { ["type"] = "integer", ["minimum"] = 1, ["maximum"] = 100 } },
                ["additionalProperties"] = false,
            },
            async (context, args, cancellationToken) =>
            {
                var limit = 20;
                if (args["limit"] is { } l)
                {
                    if (l.GetValueKind() != System.Text.Json.JsonValueKind.Number || !l.AsValue().TryGetValue(out limit) || limit is < 1 or > 100)
                    {
                        throw new ToolArgumentException("limit", "limit must be an integer from 1 to 100");
                    }
                }

                var threads = context.Services.GetRequiredService<ThreadStore>();
                return System.Text.Json.JsonSerializer.SerializeToNode(await threads.ListAsync(limit, null, cancellationToken), ToolJson.Options);
            }),
    ];
}

internal static class ToolJson
{
    public static readonly System.Text.Json.JsonSerializerOptions Options = new(System.Text.Json.JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower,
    };
}
