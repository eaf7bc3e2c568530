using System.Text;
using System.Text.Json.Nodes;

namespace Centaur.Api.Executions;

/// <summary>What one canonical wire line means for the event log and for the turn.</summary>
internal sealed record Projection(IReadOnlyList<(string Type, JsonObject Data)> Events, bool TurnDone = false,
    string? Result = null, bool IsError = false, JsonObject? Usage = null, string? HarnessSessionId = null);

/// <summary>
/// Projects the canonical harness wire (Anthropic message format) into client events. Unknown fields pass through
/// inside the raw line that is stored beside every event; unknown line types produce no client event.
/// </summary>
internal static class EventProjector
{
    private static readonly Projection s_nothing = new([]);

    public static Projection Project(JsonObject line)
    {
        var type = line["type"]?.GetValue<string>();
        switch (type)
        {
            case "assistant":
                return new Projection(AssistantEvents(line["message"]?["content"] as JsonArray));
            case "user":
                return new Projection(ToolResults(line["message"]?["content"] as JsonArray));
            case "stream_event" when IsTextDelta(line):
                return new Projection([(EventTypes.AssistantDelta, new JsonObject { ["text"] = line["event"]!["delta"]!["text"]?.GetValue<string>() ?? "" })]);
            case "result":
            {
                var isError = line["subtype"]?.GetValue<string>() is { } subtype && subtype != "success" || line["is_error"]?.GetValue<bool>() == true;
                var events = new List<(string, JsonObject)>();
                var usage = line["usage"] as JsonObject;
                if (usage is not null || line["total_cost_usd"] is not null)
                {
                    events.Add((EventTypes.Usage, new JsonObject
                    {
                        ["usage"] = usage?.DeepClone(),
                        ["cost_usd"] = line["total_cost_usd"]?.DeepClone(),
                        ["duration_ms"] = line["duration_ms"]?.DeepClone(),
                    }));
                }

                var result = line["result"]?.GetValue<string>();
                if (isError)
                {
                    events.Add((EventTypes.Error, new JsonObject { ["message"] = result ?? line["error"]?.ToString() ?? "the harness reported an error", ["code"] = "harness_error" }));
                }

                return new Projection(events, Result: result, IsError: isError, Usage: usage?.DeepClone().AsObject(),
                    HarnessSessionId: line["session_id"]?.GetValue<string>());
            }

            case "system" when line["session_id"] is not null:
                return new Projection([], HarnessSessionId: line["session_id"]!.GetValue<string>());
            case "status":
                return new Projection([(EventTypes.Status, new JsonObject { ["text"] = line["text"]?.GetValue<string>() ?? "" })]);
            case "turn.done":
                return new Projection([], TurnDone: true, Result: line["result"]?.GetValue<string>(),
                    IsError: line["is_error"]?.GetValue<bool>() == true);
            default:
                return s_nothing;
        }
    }

    private static bool IsTextDelta(JsonObject line) =>
        (line["event"] as JsonObject)?["delta"] is JsonObject delta && delta["type"]?.GetValue<string>() == "text_delta";

    private static List<(string, JsonObject)> AssistantEvents(JsonArray? content)
    {
        var events = new List<(string, JsonObject)>();
        var text = new StringBuilder();
        foreach (var block in content ?? [])
        {
            switch (block?["type"]?.GetValue<string>())
            {
                case "text":
                    text.Append(block["text"]?.GetValue<string>());
                    break;
                case "tool_use":
                    events.Add((EventTypes.ToolUse, new JsonObject
                    {
                        ["id"] = block["id"]?.DeepClone(),
                        ["name"] = block["name"]?.DeepClone(),
                        ["input"] = block["input"]?.DeepClone(),
                    }));
                    break;
            }
        }

        if (text.Length > 0)
        {
            events.Insert(0, (EventTypes.AssistantMessage, new JsonObject { ["text"] = text.ToString() }));
        }

        return events;
    }

    private static List<(string, JsonObject)> ToolResults(JsonArray? content)
    {
        var events = new List<(string, JsonObject)>();
        foreach (var block in content ?? [])
        {
            if (block?["type"]?.GetValue<string>() == "tool_result")
            {
                events.Add((EventTypes.ToolResult, new JsonObject
                {
                    ["tool_use_id"] = block["tool_use_id"]?.DeepClone(),
                    ["content"] = block["content"]?.DeepClone(),
                    ["is_error"] = block["is_error"]?.DeepClone() ?? false,
                }));
            }
        }

        return events;
    }
}
