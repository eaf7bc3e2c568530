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
            timeout);
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
