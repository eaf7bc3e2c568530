using System.Text.Json.Nodes;
using Centaur.Sandbox.Wire;

namespace Centaur.Sandbox.Harnesses;

/// <summary>
/// A CLI that speaks stream-json on stdin/stdout and keeps several turns on one process (Claude Code, Amp):
/// one user line in, lines out until the result line. A process that dies is restarted on the next turn, resuming
/// the stored session when the CLI can.
/// </summary>
internal abstract class StreamJsonHarness(HarnessContext context) : IHarness
{
    private HarnessProcess? _process;
    private string? _processToken;
    private int _interrupts;

    protected HarnessContext Context { get; } = context;

    public abstract string Name { get; }

    /// <summary>The command line; <paramref name="sessionId"/> is the stored session to resume, if any.</summary>
    protected abstract (string File, List<string> Arguments) Command(string? sessionId);

    /// <summary>The command line as it would start (tests check CLIs that cannot run here, such as Amp).</summary>
    internal (string File, List<string> Arguments) CommandLine(string? sessionId) => Command(sessionId);

    /// <summary>Called with the session id the CLI reports, so it can be stored for a resume.</summary>
    protected virtual void OnSession(string sessionId)
    {
        if (sessionId != Context.LoadSessionId())
        {
            Context.SaveSessionId(sessionId);
        }
    }

    /// <summary>The user line; images inline as base64 blocks where the CLI takes them, other files by path.</summary>
    protected abstract JsonObject UserLine(HarnessTurn turn);

    public Task WarmUpAsync(CancellationToken cancellationToken)
    {
        EnsureProcess(Context.Setup.SandboxToken);
        return Task.CompletedTask;
    }

    public async Task<TurnOutcome> RunTurnAsync(HarnessTurn turn, WireWriter wire, CancellationToken cancellationToken)
    {
        var token = turn.SandboxToken ?? _processToken ?? Context.Setup.SandboxToken;
        if (_process is not null && SandboxTokenExpiry.ShouldRefresh(_processToken, token, Context.Setup.TurnTimeout, DateTimeOffset.UtcNow))
        {
            await StopProcessAsync();
        }

        var process = EnsureProcess(token);
        Interlocked.Exchange(ref _interrupts, 0);
        await process.WriteAsync(UserLine(turn), cancellationToken);

        while (true)
        {
            var line = await process.ReadAsync(cancellationToken);
            if (line is null)
            {
                var reason = await process.DescribeExitAsync();
                HarnessLog.ExitedMidTurn(Context.Logger, Name, reason);
                await StopProcessAsync();
                var message = $"{Name} exited during the turn ({reason})";
                await wire.WriteAsync(Canonical.ResultLine(turn.TurnId, false, message, error: "harness_exited"), cancellationToken);
                return new TurnOutcome(false, message);
            }

            if (line.GetString("type") == "system" && line.GetString("subtype") == "init" && line.GetString("session_id") is { } sid)
            {
                OnSession(sid);
            }

            var (kind, canonical) = StreamJsonTranslator.Translate(line, turn.TurnId);
            switch (kind)
            {
                case StreamJsonTranslator.Kind.Forward:
                    await wire.WriteAsync(canonical!, cancellationToken);
                    break;
                case StreamJsonTranslator.Kind.PermissionRequest:
                    await process.WriteAsync(StreamJsonTranslator.Allow(canonical!), cancellationToken);
                    break;
                case StreamJsonTranslator.Kind.Result:
                    if (canonical!.GetString("session_id") is { } resultSession)
                    {
                        OnSession(resultSession);
                    }

                    await wire.WriteAsync(canonical!, cancellationToken);
                    return new TurnOutcome(!canonical!.GetBool("is_error"), StreamJsonTranslator.ResultText(canonical!));
                default:
                    break;
            }
        }
    }

    public async Task InterruptAsync(CancellationToken cancellationToken)
    {
        if (_process is { HasExited: false } process)
        {
            var n = Interlocked.Increment(ref _interrupts);
            await process.WriteAsync(new JsonObject
            {
                ["type"] = "control_request",
                ["request_id"] = $"centaur-interrupt-{n}",
                ["request"] = new JsonObject { ["subtype"] = "interrupt" },
            }, cancellationToken);
        }
    }

    private HarnessProcess EnsureProcess(string? token)
    {
        if (_process is { HasExited: false })
        {
            return _process;
        }

        var (file, arguments) = Command(Context.LoadSessionId());
        _process = HarnessProcess.Start(file, arguments, Context.Workspace, Context.ProcessEnvironment(token), Context.Logger);
        _processToken = token;
        return _process;
    }

    private async Task StopProcessAsync()
    {
        if (_process is { } process)
        {
            _process = null;
            await process.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopProcessAsync();
        GC.SuppressFinalize(this);
    }

    /// <summary>Anthropic content blocks for the user's text and attachments.</summary>
    protected static JsonArray ContentBlocks(HarnessTurn turn, bool inlineImages)
    {
        var content = new JsonArray { (JsonNode)Canonical.TextBlock(HarnessContext.TextWithAttachmentPaths(turn, a => inlineImages && a.IsImage)) };
        if (inlineImages)
        {
            foreach (var image in turn.Attachments.Where(a => a.IsImage))
            {
                content.Add((JsonNode)new JsonObject
                {
                    ["type"] = "image",
                    ["source"] = new JsonObject { ["type"] = "base64", ["media_type"] = image.MediaType, ["data"] = Convert.ToBase64String(image.Data) },
                });
            }
        }

        return content;
    }
}
