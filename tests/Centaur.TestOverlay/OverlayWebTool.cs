using System.Text.Json.Nodes;
using Centaur.Sdk;

namespace Centaur.TestOverlay;

/// <summary>Named like the kernel's web tool: the overlay's copy must win.</summary>
public sealed class OverlayWebTool : ITool
{
    public string Name => "web";

    public string Description => "The overlay's web tool.";

    public IReadOnlyList<ToolMethod> Methods { get; } =
    [
        new("fetch", "Pretends to fetch.", new JsonObject { ["type"] = "object", ["additionalProperties"] = true },
            (_, args, _) => Task.FromResult<JsonNode?>(new JsonObject { ["overlay"] = true, ["url"] = args["url"]?.DeepClone() })),
    ];
}
