using System.Text.Json.Nodes;
using Centaur.Sandbox.Wire;

namespace Centaur.Sandbox.Harnesses;

/// <summary>
/// Claude Code's stream-json (also what Amp prints with --stream-json) is already the canonical format: assistant
/// and user lines pass through whole (unknown fields included) with the turn id added; partial-message text deltas
/// stay stream_event lines (with the turn id); the result keeps every field and gets the canonical subtype.
/// </summary>
internal static class StreamJsonTranslator
{
    public enum Kind
    {
        Ignore,
        Forward,
        Result,
        PermissionRequest,
    }

    public static (Kind Kind, JsonObject? Line) Translate(JsonObject line, JsonNode? turnId)
    {
        switch (line.GetString("type"))
        {
            case "assistant" or "user" or "system":
                var copy = (JsonObject)line.DeepClone();
                copy["turn_id"] = turnId.Copy();
                return (Kind.Forward, copy);
            case "stream_event":
                // Only text deltas: the other partial events repeat what the assistant line carries whole.
                var ev = line.GetObject("event");
                var delta = ev?.GetObject("delta");
                return ev?.GetString("type") == "content_block_delta" && delta?.GetString("type") == "text_delta" && delta.GetString("text") is { } text
                    ? (Kind.Forward, Canonical.Delta(turnId, text))
                    : (Kind.Ignore, null);
            case "result":
                // Canonical fields first (the harness put "type" somewhere in the middle), then everything it sent.
                var isError = line.GetBool("is_error") || line.GetString("subtype") is { } st && st != "success";
                var result = new JsonObject
                {
                    ["type"] = Canonical.Result,
                    ["turn_id"] = turnId.Copy(),
                    ["subtype"] = isError ? "error" : "success",
                    ["is_error"] = isError,
                    ["result"] = line.GetString("result") ?? (isError ? ErrorText(line) : ""),
                    ["harness_subtype"] = line.GetString("subtype"),
                };
                foreach (var (key, value) in line)
                {
                    if (!result.ContainsKey(key))
                    {
                        result[key] = value.Copy();
                    }
                }

                return (Kind.Result, result);
            case "control_request" when line.GetObject("request")?.GetString("subtype") == "can_use_tool":
                return (Kind.PermissionRequest, line);
            default:
                return (Kind.Ignore, null);
        }
    }

    /// <summary>The sandbox is the security boundary, so tool permission asks are always allowed (as given).</summary>
    public static JsonObject Allow(JsonObject request) => new()
    {
        ["type"] = "control_response",
        ["response"] = new JsonObject
        {
            ["subtype"] = "success",
            ["request_id"] = request.GetString("request_id"),
            ["response"] = new JsonObject
            {
                ["behavior"] = "allow",
                ["updatedInput"] = request.GetObject("request")?.GetObject("input").Copy() ?? new JsonObject(),
            },
        },
    };

    public static string ResultText(JsonObject result) => result.GetString("result") ?? "";

    private static string ErrorText(JsonObject line) =>
        line.GetArray("errors") is { Count: > 0 } errors ? string.Join("; ", errors.Select(e => e?.ToString())) : line.GetString("subtype") ?? "error";
}
