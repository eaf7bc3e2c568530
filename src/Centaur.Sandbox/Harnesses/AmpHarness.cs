using System.Text.Json.Nodes;

namespace Centaur.Sandbox.Harnesses;

/// <summary>
/// Amp: <c>amp --execute --stream-json --stream-json-input</c> prints Claude Code-compatible stream JSON and reads
/// Claude-style user lines. Inference runs on Amp's servers (AMP_URL, reached through the egress proxy with a
/// placeholder AMP_API_KEY), so nothing here can run it offline: its command line and event parsing are tested
/// from recorded lines only. A stored thread id is continued with <c>amp threads continue</c>.
/// </summary>
internal sealed class AmpHarness(HarnessContext context) : StreamJsonHarness(context)
{
    public override string Name => HarnessNames.Amp;

    protected override (string File, List<string> Arguments) Command(string? sessionId)
    {
        List<string> args = sessionId is null ? [] : ["threads", "continue", sessionId];
        args.AddRange(["--execute", "--stream-json", "--stream-json-input", "--no-ide", "--no-notifications", "--no-color"]);
        return (Context.Bin("amp"), args);
    }

    // Amp's stream-json input takes the Claude user line; images go by path (Amp reads files itself).
    protected override JsonObject UserLine(HarnessTurn turn) => new()
    {
        ["type"] = "user",
        ["message"] = new JsonObject { ["role"] = "user", ["content"] = ContentBlocks(turn, inlineImages: false) },
    };
}
