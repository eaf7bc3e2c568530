using System.Text.Json.Nodes;
using Centaur.Sandbox.Wire;

namespace Centaur.Sandbox.Harnesses;

/// <summary>
/// pi (@mariozechner/pi-coding-agent) in RPC mode: <c>pi --mode rpc</c>, one long-lived process (it takes about
/// 2 s to start on Node 20, so it is started during setup). A prompt command starts a turn; events run until
/// agent_end. The session id (get_state) is stored, and a restart resumes it with --session.
/// </summary>
internal sealed class PiHarness(HarnessContext context) : IHarness
{
    private const string DefaultModel = "claude-sonnet-4-5";

    private HarnessProcess? _process;
    private string? _processToken;
    private int _nextId;

    public string Name => HarnessNames.Pi;

    public async Task WarmUpAsync(CancellationToken cancellationToken) =>
        await EnsureProcessAsync(context.Setup.SandboxToken, cancellationToken);

    public async Task<TurnOutcome> RunTurnAsync(HarnessTurn turn, WireWriter wire, CancellationToken cancellationToken)
    {
        var token = turn.SandboxToken ?? _processToken ?? context.Setup.SandboxToken;
        if (_process is not null && SandboxTokenExpiry.ShouldRefresh(_processToken, token, context.Setup.TurnTimeout, DateTimeOffset.UtcNow))
        {
            await StopAsync();
        }

        var process = await EnsureProcessAsync(token, cancellationToken);
        var id = $"prompt-{Interlocked.Increment(ref _nextId)}";
        var prompt = new JsonObject
        {
            ["id"] = id,
            ["type"] = "prompt",
            ["message"] = HarnessContext.TextWithAttachmentPaths(turn, a => a.IsImage),
        };
        var images = turn.Attachments.Where(a => a.IsImage).ToList();
        if (images.Count > 0)
        {
            prompt["images"] = new JsonArray([.. images.Select(i => (JsonNode)new JsonObject
            {
                ["type"] = "image",
                ["data"] = Convert.ToBase64String(i.Data),
                ["mimeType"] = i.MediaType,
            })]);
        }

        await process.WriteAsync(prompt, cancellationToken);

        string lastText = "";
        string? error = null;
        JsonNode? usage = null;
        while (true)
        {
            var line = await process.ReadAsync(cancellationToken);
            if (line is null)
            {
                var reason = await process.DescribeExitAsync();
                HarnessLog.ExitedMidTurn(context.Logger, Name, reason);
                await StopAsync();
                var message = $"pi exited during the turn ({reason})";
                await wire.WriteAsync(Canonical.ResultLine(turn.TurnId, false, message, error: "harness_exited"), cancellationToken);
                return new TurnOutcome(false, message);
            }

            switch (line.GetString("type"))
            {
                case "response" when line.GetString("id") == id && !line.GetBool("success"):
                    var refused = $"pi refused the prompt: {line.GetString("error") ?? "unknown error"}";
                    await wire.WriteAsync(Canonical.ResultLine(turn.TurnId, false, refused, error: "harness_error"), cancellationToken);
                    return new TurnOutcome(false, refused);
                case "message_update" when line.GetObject("assistantMessageEvent") is { } ev
                    && ev.GetString("type") == "text_delta" && ev.GetString("delta") is { } delta:
                    await wire.WriteAsync(Canonical.Delta(turn.TurnId, delta), cancellationToken);
                    break;
                case "message_end" when line.GetObject("message") is { } message:
                    switch (message.GetString("role"))
                    {
                        case "assistant":
                            var content = AnthropicContent(message);
                            var text = string.Concat(content.OfType<JsonObject>().Where(b => b.GetString("type") == "text").Select(b => b.GetString("text")));
                            if (text.Length > 0)
                            {
                                lastText = text;
                            }

                            usage = message["usage"].Copy() ?? usage;
                            error = message.GetString("stopReason") is "error" or "aborted"
                                ? message.GetString("errorMessage") ?? $"pi stopped: {message.GetString("stopReason")}"
                                : null;
                            await wire.WriteAsync(Canonical.AssistantMessage(turn.TurnId, content), cancellationToken);
                            break;
                        case "toolResult":
                            var result = Canonical.ToolResult(
                                message.GetString("toolCallId") ?? "tool",
                                TextOf(message.GetArray("content")),
                                message.GetBool("isError"));
                            await wire.WriteAsync(Canonical.UserMessage(turn.TurnId, [(JsonNode)result]), cancellationToken);
                            break;
                        default:
                            break;
                    }

                    break;
                case "agent_end":
                    var success = error is null;
                    var final = success ? lastText : error!;
                    await wire.WriteAsync(Canonical.ResultLine(turn.TurnId, success, final, usage, context.LoadSessionId(), success ? null : "harness_error"), cancellationToken);
                    return new TurnOutcome(success, final);
                default:
                    break;
            }
        }
    }

    public async Task InterruptAsync(CancellationToken cancellationToken)
    {
        if (_process is { HasExited: false } process)
        {
            await process.WriteAsync(new JsonObject { ["id"] = $"abort-{Interlocked.Increment(ref _nextId)}", ["type"] = "abort" }, cancellationToken);
        }
    }

    /// <summary>pi's message content (text, toolCall, thinking) as Anthropic blocks.</summary>
    private static JsonArray AnthropicContent(JsonObject message)
    {
        var blocks = new JsonArray();
        foreach (var block in (message.GetArray("content") ?? []).OfType<JsonObject>())
        {
            switch (block.GetString("type"))
            {
                case "text":
                    blocks.Add((JsonNode)Canonical.TextBlock(block.GetString("text") ?? ""));
                    break;
                case "toolCall":
                    blocks.Add((JsonNode)Canonical.ToolUse(block.GetString("id") ?? "tool", block.GetString("name") ?? "tool", block["arguments"]));
                    break;
                case "thinking":
                    blocks.Add((JsonNode)new JsonObject { ["type"] = "thinking", ["thinking"] = block.GetString("thinking") ?? "" });
                    break;
                default:
                    blocks.Add(block.DeepClone());
                    break;
            }
        }

        return blocks;
    }

    private static string TextOf(JsonArray? content) =>
        string.Concat((content ?? []).OfType<JsonObject>().Where(b => b.GetString("type") == "text").Select(b => b.GetString("text")));

    private async Task<HarnessProcess> EnsureProcessAsync(string? token, CancellationToken cancellationToken)
    {
        if (_process is { HasExited: false } running)
        {
            return running;
        }

        List<string> args = ["--mode", "rpc", "--provider", Provider, "--model", context.Setup.Model ?? DefaultModel];
        if (context.LoadSessionId() is { } session)
        {
            args.AddRange(["--session", session]);
            HarnessLog.Session(context.Logger, Name, session, "resume");
        }

        var process = HarnessProcess.Start(context.Bin("pi"), args, context.Workspace, context.ProcessEnvironment(token), context.Logger);
        _process = process;
        _processToken = token;

        // get_state names the session file pi just opened or created; store its id for a resume.
        var id = $"state-{Interlocked.Increment(ref _nextId)}";
        await process.WriteAsync(new JsonObject { ["id"] = id, ["type"] = "get_state" }, cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        while (await process.ReadAsync(timeout.Token) is { } line)
        {
            if (line.GetString("type") == "response" && line.GetString("id") == id)
            {
                if (line.GetObject("data")?.GetString("sessionId") is { } sessionId && sessionId != context.LoadSessionId())
                {
                    context.SaveSessionId(sessionId);
                }

                return process;
            }
        }

        throw new InvalidOperationException($"pi exited while starting: {await process.DescribeExitAsync()}");
    }

    private string Provider => context.Setup.Model is { } m && (m.StartsWith("gpt", StringComparison.Ordinal) || m.StartsWith('o')) ? "openai" : "anthropic";

    private async Task StopAsync()
    {
        if (_process is { } process)
        {
            _process = null;
            await process.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
