using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Centaur.Sandbox.Wire;

namespace Centaur.Sandbox.Setup;

/// <summary>
/// Per-thread setup, sent over the wire as the first line (<c>sandbox.setup</c>) so that a warm sandbox started
/// before any thread existed can be claimed without a restart. Kept in ~/.centaur/setup.json for restarts.
/// </summary>
internal sealed record SandboxSetup(
    string ThreadKey,
    string ThreadHash,
    string Harness,
    string? Persona,
    string? Repo,
    string? Model,
    string? SandboxToken,
    IReadOnlyList<PromptLayer> PromptLayers,
    IReadOnlyList<string> SkillDirectories,
    TimeSpan TurnTimeout)
{
    /// <summary>
    /// Skills sent in the line itself (a pod cannot see the overlay folder); written under ~/.centaur/skills and then
    /// copied like the folders of <see cref="SkillDirectories"/>, after them.
    /// </summary>
    public IReadOnlyList<InlineSkill> InlineSkills { get; init; } = [];

    public static readonly TimeSpan DefaultTurnTimeout = TimeSpan.FromMinutes(30);

    public string Branch => $"centaur/{ThreadHash}";

    /// <summary>Parses a setup line; returns the problem in <paramref name="error"/> instead of throwing.</summary>
    public static SandboxSetup? TryParse(JsonObject line, out string? error)
    {
        error = null;
        var threadKey = line.GetString("thread_key");
        if (string.IsNullOrWhiteSpace(threadKey))
        {
            error = "sandbox.setup needs thread_key";
            return null;
        }

        var harness = (line.GetString("harness") ?? "claude").ToLowerInvariant();
        harness = harness == "claude-code" ? Harnesses.HarnessNames.Claude : harness;
        if (!Harnesses.HarnessNames.All.Contains(harness))
        {
            error = $"unknown harness '{harness}' (known: {string.Join(", ", Harnesses.HarnessNames.All)})";
            return null;
        }

        var layers = new List<PromptLayer>();
        foreach (var node in line.GetArray("prompt_layers") ?? [])
        {
            if (node is JsonObject layer && layer.GetString("text") is { } text)
            {
                layers.Add(new PromptLayer(layer.GetString("name") ?? "layer", text));
            }
        }

        var skills = (line.GetArray("skill_dirs") ?? []).OfType<JsonValue>()
            .Select(v => v.TryGetValue<string>(out var s) ? s : null).OfType<string>().ToList();
        var timeout = line.TryGetPropertyValue("turn_timeout_seconds", out var t) && t is JsonValue tv && tv.TryGetValue<double>(out var seconds) && seconds > 0
            ? TimeSpan.FromSeconds(seconds)
            : DefaultTurnTimeout;

        var inline = new List<InlineSkill>();
        foreach (var node in line.GetArray("skills") ?? [])
        {
            if (node is not JsonObject skill || skill.GetString("name") is not { } name || !InlineSkill.IsSafeName(name))
            {
                error = "every entry of skills needs a plain name";
                return null;
            }

            var files = new List<(string, byte[])>();
            foreach (var file in (skill.GetArray("files") ?? []).OfType<JsonObject>())
            {
                if (file.GetString("path") is not { } path || !InlineSkill.IsSafePath(path) || file.GetString("content_base64") is not { } content)
                {
                    error = $"skill {name} has a file without a relative path or content";
                    return null;
                }

                try
                {
                    files.Add((path, Convert.FromBase64String(content)));
                }
                catch (FormatException)
                {
                    error = $"skill {name}: {path} is not base64";
                    return null;
                }
            }

            inline.Add(new InlineSkill(name, files));
        }

        return new SandboxSetup(
            threadKey,
            line.GetString("thread_hash") ?? HashThreadKey(threadKey),
            harness,
            line.GetString("persona"),
            line.GetString("repo"),
            line.GetString("model"),
            line.GetString("sandbox_token"),
            layers,
            skills,
            timeout)
        {
            InlineSkills = inline,
        };
    }

    /// <summary>Branch and folder names must not carry the raw key (it holds channel ids and is not a valid ref).</summary>
    public static string HashThreadKey(string threadKey) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(threadKey)))[..16];

    public JsonObject ToJson() => new()
    {
        ["type"] = Canonical.Setup,
        ["thread_key"] = ThreadKey,
        ["thread_hash"] = ThreadHash,
        ["harness"] = Harness,
        ["persona"] = Persona,
        ["repo"] = Repo,
        ["model"] = Model,
        ["prompt_layers"] = new JsonArray([.. PromptLayers.Select(l => (JsonNode)new JsonObject { ["name"] = l.Name, ["text"] = l.Text })]),
        ["skill_dirs"] = new JsonArray([.. SkillDirectories.Select(s => (JsonNode)JsonValue.Create(s))]),
        ["turn_timeout_seconds"] = TurnTimeout.TotalSeconds,
    };
}

internal sealed record PromptLayer(string Name, string Text);

/// <summary>A skill folder carried in the setup line: relative '/'-separated paths and their bytes.</summary>
internal sealed record InlineSkill(string Name, IReadOnlyList<(string Path, byte[] Content)> Files)
{
    public static bool IsSafeName(string name) =>
        name.Length is > 0 and <= 128 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') && name is not "." and not "..";

    /// <summary>No absolute paths and no "..": a skill's files stay inside its own folder.</summary>
    public static bool IsSafePath(string path) =>
        path.Length is > 0 and <= 512 && !path.StartsWith('/') && !path.Contains('\\', StringComparison.Ordinal)
        && path.Split('/').All(IsSafeName);
}
