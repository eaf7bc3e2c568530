using System.Text.Json.Nodes;
using Centaur.Sandbox.Wire;

namespace Centaur.Sandbox.Harnesses;

/// <summary>
/// One harness CLI behind the canonical wire. The harness keeps its conversation across turns (one long-lived
/// process where the CLI allows it) and resumes it from $HOME after a sandbox restart where the CLI supports that.
/// </summary>
internal interface IHarness : IAsyncDisposable
{
    string Name { get; }

    /// <summary>Starts the CLI ahead of the first turn, so that turn pays no start-up cost.</summary>
    Task WarmUpAsync(CancellationToken cancellationToken);

    /// <summary>Runs one turn, writing canonical assistant/user/result lines; the runtime writes turn.done.</summary>
    Task<TurnOutcome> RunTurnAsync(HarnessTurn turn, WireWriter wire, CancellationToken cancellationToken);

    /// <summary>Asks the CLI to stop the turn in flight; the turn then ends with an error result.</summary>
    Task InterruptAsync(CancellationToken cancellationToken);
}

internal sealed record HarnessTurn(JsonNode? TurnId, string Text, IReadOnlyList<TurnAttachment> Attachments, string? SandboxToken)
{
    public string TurnIdText => TurnId?.ToJsonString() ?? "?";
}

/// <summary>A file that came with the message, already written into the sandbox (CLIs that need paths get this path).</summary>
internal sealed record TurnAttachment(string Name, string MediaType, string Path, byte[] Data)
{
    public bool IsImage => Data.Length > 0 && MediaType.StartsWith("image/", StringComparison.OrdinalIgnoreCase);
}

internal sealed record TurnOutcome(bool Success, string Result);

internal static class HarnessNames
{
    public const string Claude = "claude";
    public const string Codex = "codex";
    public const string Pi = "pi";
    public const string Amp = "amp";

    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal) { Claude, Codex, Pi, Amp };
}
