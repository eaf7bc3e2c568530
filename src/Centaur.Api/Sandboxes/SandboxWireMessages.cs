using System.Text.Json.Nodes;

namespace Centaur.Api.Sandboxes;

/// <summary>
/// The control lines of the harness wire that Centaur.Sandbox adds to the canonical turn lines (SPEC "The harness
/// wire"): stdout <c>sandbox.started</c> / <c>sandbox.ready</c> / <c>sandbox.error</c>, stdin <c>sandbox.setup</c>.
/// Every backend (local, kubernetes) speaks them the same way.
/// </summary>
public static class SandboxWireMessages
{
    public const string Started = "sandbox.started";
    public const string Ready = "sandbox.ready";
    public const string Error = "sandbox.error";
    public const string Setup = "sandbox.setup";
    public const string TurnStart = "turn.start";
    public const string TurnCancel = "turn.cancel";
    public const string TurnDone = "turn.done";

    public static string? TypeOf(JsonObject line) =>
        line.TryGetPropertyValue("type", out var node) && node is JsonValue value && value.TryGetValue<string>(out var s) ? s : null;

    /// <summary>The setup line for a thread. Prompt layers: base, org overlay, persona (in that order; later refines).</summary>
    public static JsonObject SetupLine(SandboxSpec spec, string threadKey, string? sandboxToken, IEnumerable<(string Name, string Text)> promptLayers, IEnumerable<string> skillDirectories, TimeSpan turnTimeout) => new()
    {
        ["type"] = Setup,
        ["thread_key"] = threadKey,
        ["harness"] = spec.Harness,
        ["persona"] = spec.Persona,
        ["repo"] = spec.Repo,
        ["model"] = spec.Model,
        ["sandbox_token"] = sandboxToken,
        ["prompt_layers"] = new JsonArray([.. promptLayers.Select(l => (JsonNode)new JsonObject { ["name"] = l.Name, ["text"] = l.Text })]),
        ["skill_dirs"] = new JsonArray([.. skillDirectories.Select(d => (JsonNode)JsonValue.Create(d))]),
        ["turn_timeout_seconds"] = turnTimeout.TotalSeconds,
    };
}
