using System.Text;
using System.Text.Json.Nodes;
using Centaur.Api.Overlay;
using Centaur.Api.Personas;

namespace Centaur.Api.Tools;

/// <summary>
/// The AGENTS.md layers the API contributes after the sandbox's base prompt: the org overlay's prompt, the persona's
/// prompt, and a "Tools" section generated from the tools the persona may call (kept in step with GET /tools).
/// </summary>
internal static class PromptLayers
{
    /// <summary>Markdown for people and models: "…" stays "…" rather than \u2026.</summary>
    private static readonly System.Text.Json.JsonSerializerOptions s_readable = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static IReadOnlyList<(string Name, string Text)> For(ExtensionSnapshot snapshot, Persona? persona)
    {
        var layers = new List<(string, string)>();
        if (!string.IsNullOrWhiteSpace(snapshot.OrgPrompt))
        {
            layers.Add(("org", snapshot.OrgPrompt));
        }

        if (!string.IsNullOrWhiteSpace(persona?.Prompt))
        {
            layers.Add(("persona", persona.Prompt));
        }

        layers.Add(("tools", ToolsSection(ToolsEndpoints.Listing(snapshot, persona))));
        return layers;
    }

    public static string ToolsSection(IReadOnlyList<ToolListing> tools)
    {
        var text = new StringBuilder("## Tools\n\n");
        if (tools.Count == 0)
        {
            return text.Append("No tools are available in this thread.\n").ToString();
        }

        text.Append("Call a tool from the shell with `call <tool> <method> '<json arguments>'`; it prints the result as JSON. ")
            .Append("`call --list` prints these tools with their full argument schemas. Tools run outside the sandbox with ")
            .Append("the team's credentials, and every call is recorded.\n");
        foreach (var tool in tools)
        {
            text.Append("\n### ").Append(tool.Name).Append("\n\n").Append(tool.Description).Append('\n');
            foreach (var method in tool.Methods)
            {
                text.Append("\n- `call ").Append(tool.Name).Append(' ').Append(method.Name).Append(' ')
                    .Append('\'').Append(Example(method.ArgumentsSchema)).Append("'` — ").Append(method.Description).Append('\n');
                foreach (var (name, schema) in method.ArgumentsSchema["properties"] as JsonObject ?? [])
                {
                    var required = (method.ArgumentsSchema["required"] as JsonArray)?.Any(r => r?.GetValue<string>() == name) == true;
                    text.Append("  - `").Append(name).Append("` (").Append(TypeOf(schema)).Append(required ? ", required" : "").Append(')');
                    if (schema?["description"]?.GetValue<string>() is { } description)
                    {
                        text.Append(": ").Append(description);
                    }

                    text.Append('\n');
                }
            }
        }

        return text.ToString();
    }

    /// <summary>A compact example argument object with the required fields.</summary>
    private static string Example(JsonObject schema)
    {
        var example = new JsonObject();
        foreach (var required in schema["required"] as JsonArray ?? [])
        {
            var name = required!.GetValue<string>();
            example[name] = TypeOf(schema["properties"]?[name]) switch
            {
                "integer" or "number" => 1,
                "boolean" => true,
                "array" => new JsonArray(),
                "object" => new JsonObject(),
                _ => "…",
            };
        }

        return example.ToJsonString(s_readable);
    }

    private static string TypeOf(JsonNode? schema) => schema?["type"] switch
    {
        JsonArray types => string.Join("|", types.Select(t => t?.GetValue<string>()).Where(t => t != "null")),
        JsonValue type => type.GetValue<string>(),
        _ => "any",
    };
}
