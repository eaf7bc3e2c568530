using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Centaur.Sandbox.Wire;

/// <summary>JSON helpers for NDJSON lines: every line is parsed (keys come in any order), unknown fields are kept.</summary>
internal static class WireJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        // Agent text is full of quotes and angle brackets; escaping them only makes the wire harder to read.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        WriteIndented = false,
    };

    /// <summary>Null for blank lines and for anything that is not a JSON object (a harness's stray log output).</summary>
    public static JsonObject? TryParseObject(string? line)
    {
        if (string.IsNullOrWhiteSpace(line))
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(line) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static string? GetString(this JsonObject obj, string name) =>
        obj.TryGetPropertyValue(name, out var node) && node is JsonValue value && value.TryGetValue<string>(out var s) ? s : null;

    public static bool GetBool(this JsonObject obj, string name) =>
        obj.TryGetPropertyValue(name, out var node) && node is JsonValue value && value.TryGetValue<bool>(out var b) && b;

    public static JsonObject? GetObject(this JsonObject obj, string name) =>
        obj.TryGetPropertyValue(name, out var node) ? node as JsonObject : null;

    public static JsonArray? GetArray(this JsonObject obj, string name) =>
        obj.TryGetPropertyValue(name, out var node) ? node as JsonArray : null;

    /// <summary>A deep copy, so a node can move into another tree (JsonNode has a single parent).</summary>
    public static JsonNode? Copy(this JsonNode? node) => node?.DeepClone();
}
