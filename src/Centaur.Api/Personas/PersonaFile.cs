using System.Text.Json;
using Centaur.Api.Overlay;
using Centaur.Api.Sandboxes;
using Centaur.Api.Threads;

namespace Centaur.Api.Personas;

/// <summary>
/// personas/&lt;name&gt;.json in an overlay: {"description", "prompt" | "prompt_file", "harness", "model",
/// "allowed_tools"}. Without a prompt, personas/&lt;name&gt;.md is the prompt.
/// </summary>
internal sealed record PersonaFile(
    string? Name, string? Description, string? Prompt, string? PromptFile, string? Harness, string? Model, string[]? AllowedTools)
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>The persona, or an error that names the file and the problem.</summary>
    public static (Persona? Persona, string? Error) Load(string path)
    {
        var file = Path.GetFileName(path);
        PersonaFile? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize<PersonaFile>(File.ReadAllText(path), s_json);
        }
        catch (JsonException ex)
        {
            return (null, $"personas/{file}: {ex.Message}");
        }

        if (parsed is null)
        {
            return (null, $"personas/{file}: empty");
        }

        var name = parsed.Name ?? Path.GetFileNameWithoutExtension(path);
        if (!ThreadsEndpoints.IsName(name))
        {
            return (null, $"personas/{file}: name '{name}' must be 1-64 characters of a-z, 0-9, '-' and '_'");
        }

        if (parsed.Harness is { } harness && !SandboxOptions.Harnesses.Contains(harness))
        {
            return (null, $"personas/{file}: harness must be one of {string.Join(", ", SandboxOptions.Harnesses)}");
        }

        if (parsed.AllowedTools?.FirstOrDefault(rule => !IsRule(rule)) is { } badRule)
        {
            return (null, $"personas/{file}: allowed_tools entry '{badRule}' must be tool, tool.* or tool.method");
        }

        var directory = Path.GetDirectoryName(path)!;
        var promptPath = parsed.PromptFile is { } promptFile
            ? Path.GetFullPath(Path.Combine(directory, promptFile))
            : Path.Combine(directory, name + ".md");
        if (parsed.PromptFile is not null && (!promptPath.StartsWith(directory, StringComparison.Ordinal) || !File.Exists(promptPath)))
        {
            return (null, $"personas/{file}: prompt_file '{parsed.PromptFile}' is not a file inside personas/");
        }

        var prompt = parsed.Prompt ?? (File.Exists(promptPath) ? File.ReadAllText(promptPath) : "");
        return (new Persona(name, parsed.Description ?? "", prompt, parsed.Harness, parsed.Model, parsed.AllowedTools, Sources.Org), null);
    }

    private static bool IsRule(string rule)
    {
        var parts = rule.Split('.');
        return parts.Length is 1 or 2 && Tools.ToolsEndpoints.IsToolName(parts[0])
            && (parts.Length == 1 || parts[1] == "*" || Tools.ToolsEndpoints.IsToolName(parts[1]));
    }
}
