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

    /// <summary>What the control plane's warm claim sends; the same line.</summary>
    public const string SetupAlias = "setup";
    public const string TurnStart = "turn.start";
    public const string TurnCancel = "turn.cancel";
    public const string TurnDone = "turn.done";

    public static string? TypeOf(JsonObject line) =>
        line.TryGetPropertyValue("type", out var node) && node is JsonValue value && value.TryGetValue<string>(out var s) ? s : null;

    public static string? GetString(JsonObject line, string name) =>
        line.TryGetPropertyValue(name, out var node) && node is JsonValue value && value.TryGetValue<string>(out var s) ? s : null;

    /// <summary>The setup line for a thread's spec (what the control plane's own warm-claim line also carries).</summary>
    public static JsonObject SetupLine(SandboxSpec spec, string threadKey) => new()
    {
        ["type"] = Setup,
        ["thread_key"] = threadKey,
        // Hashed here, so the runtime does not load OpenSSL for it on the claim path.
        ["thread_hash"] = Threads.ThreadKey.Hash(threadKey),
        ["harness"] = spec.Harness,
        ["persona"] = spec.Persona,
        ["repo"] = spec.Repo,
        ["model"] = spec.Model,
    };

    /// <summary>
    /// Completes a setup line with what the backend knows: prompt layers (base, org overlay, persona, in that order;
    /// later refines), skill folders inside the sandbox, the turn timeout and a fresh token. Fields already set win.
    /// </summary>
    public static JsonObject Complete(JsonObject line, string? sandboxToken, IEnumerable<(string Name, string Text)> promptLayers, IEnumerable<string> skillDirectories, TimeSpan turnTimeout)
    {
        var complete = (JsonObject)line.DeepClone();
        complete["type"] = Setup;
        if (sandboxToken is not null && GetString(complete, "sandbox_token") is null)
        {
            complete["sandbox_token"] = sandboxToken;
        }

        complete["prompt_layers"] ??= new JsonArray([.. promptLayers.Select(l => (JsonNode)new JsonObject { ["name"] = l.Name, ["text"] = l.Text })]);
        complete["skill_dirs"] ??= new JsonArray([.. skillDirectories.Select(d => (JsonNode)JsonValue.Create(d))]);
        complete["turn_timeout_seconds"] ??= turnTimeout.TotalSeconds;
        return complete;
    }
}
