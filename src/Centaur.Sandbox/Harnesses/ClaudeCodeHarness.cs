using System.Text.Json.Nodes;

namespace Centaur.Sandbox.Harnesses;

/// <summary>
/// Claude Code: <c>claude -p --input-format stream-json --output-format stream-json --verbose</c>, many turns on one
/// process. The session id is chosen by us (--session-id) and stored in $HOME, so a restarted sandbox continues the
/// same conversation with --resume (the cwd, ~/workspace, never changes: Claude files sessions by cwd).
/// </summary>
internal sealed class ClaudeCodeHarness(HarnessContext context) : StreamJsonHarness(context)
{
    public override string Name => HarnessNames.Claude;

    protected override (string File, List<string> Arguments) Command(string? sessionId)
    {
        List<string> args =
        [
            "-p",
            "--input-format", "stream-json",
            "--output-format", "stream-json",
            "--verbose",
            "--include-partial-messages",
            "--permission-mode", "bypassPermissions",
        ];
        if (Context.Setup.Model is { } model)
        {
            args.AddRange(["--model", model]);
        }

        if (sessionId is not null && SessionFileExists(sessionId))
        {
            args.AddRange(["--resume", sessionId]);
            HarnessLog.Session(Context.Logger, Name, sessionId, "resume");
        }
        else
        {
            // A fresh id up front, so it is stored before the first turn could be lost.
            var id = sessionId ?? Guid.NewGuid().ToString();
            Context.SaveSessionId(id);
            args.AddRange(["--session-id", id]);
        }

        return (Context.Bin("claude"), args);
    }

    protected override JsonObject UserLine(HarnessTurn turn) => new()
    {
        ["type"] = "user",
        ["message"] = new JsonObject { ["role"] = "user", ["content"] = ContentBlocks(turn, inlineImages: true) },
    };

    private bool SessionFileExists(string sessionId)
    {
        var projects = Path.Combine(Context.Environment.Home, ".claude", "projects");
        return Directory.Exists(projects) && Directory.EnumerateFiles(projects, sessionId + ".jsonl", SearchOption.AllDirectories).Any();
    }
}
