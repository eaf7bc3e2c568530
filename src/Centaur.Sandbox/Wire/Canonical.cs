using System.Text.Json.Nodes;

namespace Centaur.Sandbox.Wire;

/// <summary>
/// The canonical harness wire (SPEC "The harness wire"; Anthropic message format). Everything the API reads from a
/// sandbox has one of these types, whichever harness CLI runs inside.
/// </summary>
internal static class Canonical
{
    // stdin (API → sandbox)
    public const string Setup = "sandbox.setup";
    public const string SetupAlias = "setup";
    public const string TurnStart = "turn.start";
    public const string TurnCancel = "turn.cancel";
    public const string Shutdown = "sandbox.shutdown";

    // stdout (sandbox → API)
    public const string Started = "sandbox.started";
    public const string Ready = "sandbox.ready";
    public const string Error = "sandbox.error";
    public const string Assistant = "assistant";
    public const string StreamEvent = "stream_event";
    public const string User = "user";
    public const string System = "system";
    public const string Result = "result";
    public const string TurnDone = "turn.done";

    public static JsonObject AssistantMessage(JsonNode? turnId, JsonArray content, JsonObject? extra = null) =>
        Message(Assistant, "assistant", turnId, content, extra);

    public static JsonObject UserMessage(JsonNode? turnId, JsonArray content, JsonObject? extra = null) =>
        Message(User, "user", turnId, content, extra);

    /// <summary>Streamed text, as an Anthropic content_block_delta event (what Claude Code's partial messages look like).</summary>
    public static JsonObject Delta(JsonNode? turnId, string text) => new()
    {
        ["type"] = StreamEvent,
        ["turn_id"] = turnId.Copy(),
        ["event"] = new JsonObject
        {
            ["type"] = "content_block_delta",
            ["index"] = 0,
            ["delta"] = new JsonObject { ["type"] = "text_delta", ["text"] = text },
        },
    };

    public static JsonObject TextBlock(string text) => new() { ["type"] = "text", ["text"] = text };

    public static JsonObject ToolUse(string id, string name, JsonNode? input) =>
        new() { ["type"] = "tool_use", ["id"] = id, ["name"] = name, ["input"] = input.Copy() ?? new JsonObject() };

    public static JsonObject ToolResult(string toolUseId, string content, bool isError) =>
        new() { ["type"] = "tool_result", ["tool_use_id"] = toolUseId, ["content"] = content, ["is_error"] = isError };

    public static JsonObject ResultLine(JsonNode? turnId, bool success, string result, JsonNode? usage = null, string? sessionId = null, string? error = null)
    {
        var line = new JsonObject
        {
            ["type"] = Result,
            ["turn_id"] = turnId.Copy(),
            ["subtype"] = success ? "success" : "error",
            ["is_error"] = !success,
            ["result"] = result,
        };
        if (usage is not null)
        {
            line["usage"] = usage.Copy();
        }

        if (sessionId is not null)
        {
            line["session_id"] = sessionId;
        }

        if (error is not null)
        {
            line["error"] = error;
        }

        return line;
    }

    public static JsonObject Done(JsonNode? turnId, bool success, string result) => new()
    {
        ["type"] = TurnDone,
        ["turn_id"] = turnId.Copy(),
        ["subtype"] = success ? "success" : "error",
        ["is_error"] = !success,
        ["result"] = result,
    };

    public static JsonObject SandboxError(string code, string message) =>
        new() { ["type"] = Error, ["code"] = code, ["message"] = message };

    private static JsonObject Message(string type, string role, JsonNode? turnId, JsonArray content, JsonObject? extra)
    {
        var line = new JsonObject
        {
            ["type"] = type,
            ["turn_id"] = turnId.Copy(),
            ["message"] = new JsonObject { ["role"] = role, ["content"] = content },
        };
        if (extra is not null)
        {
            foreach (var (key, value) in extra)
            {
                line[key] = value.Copy();
            }
        }

        return line;
    }
}
