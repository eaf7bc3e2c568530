using System.Text.Json.Nodes;
using Centaur.Sandbox.Wire;

namespace Centaur.Sandbox.Harnesses;

/// <summary>
/// Codex through <c>codex app-server</c> (JSON-RPC, one object per line, no "jsonrpc" field): one process and one
/// Codex thread for the whole Centaur thread; the Codex thread id is stored in $HOME and reopened with
/// thread/resume after a restart. Codex's own sandbox is off (danger-full-access): the bubblewrap sandbox around
/// it is the boundary. Codex retries forever on a broken upstream, so the runtime's turn timeout matters here.
/// </summary>
internal sealed class CodexHarness(HarnessContext context) : IHarness
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(60);

    private HarnessProcess? _process;
    private string? _processToken;
    private string? _threadId;
    private string? _activeTurnId;
    private int _nextId;

    public string Name => HarnessNames.Codex;

    public async Task WarmUpAsync(CancellationToken cancellationToken) =>
        await EnsureThreadAsync(context.Setup.SandboxToken, cancellationToken);

    public async Task<TurnOutcome> RunTurnAsync(HarnessTurn turn, WireWriter wire, CancellationToken cancellationToken)
    {
        var token = turn.SandboxToken ?? _processToken ?? context.Setup.SandboxToken;
        if (_process is not null && SandboxTokenExpiry.ShouldRefresh(_processToken, token, context.Setup.TurnTimeout, DateTimeOffset.UtcNow))
        {
            await StopAsync();
        }

        var (process, threadId) = await EnsureThreadAsync(token, cancellationToken);
        var input = new JsonArray { (JsonNode)new JsonObject { ["type"] = "text", ["text"] = HarnessContext.TextWithAttachmentPaths(turn, a => a.IsImage) } };
        foreach (var image in turn.Attachments.Where(a => a.IsImage))
        {
            input.Add((JsonNode)new JsonObject { ["type"] = "localImage", ["path"] = image.Path });
        }

        var requestId = NextId();
        await process.WriteAsync(Request(requestId, "turn/start", new JsonObject { ["threadId"] = threadId, ["input"] = input }), cancellationToken);

        var text = new List<string>();
        JsonNode? usage = null;
        while (true)
        {
            var line = await process.ReadAsync(cancellationToken);
            if (line is null)
            {
                var reason = await process.DescribeExitAsync();
                HarnessLog.ExitedMidTurn(context.Logger, Name, reason);
                await StopAsync();
                var message = $"codex exited during the turn ({reason})";
                await wire.WriteAsync(Canonical.ResultLine(turn.TurnId, false, message, error: "harness_exited"), cancellationToken);
                return new TurnOutcome(false, message);
            }

            if (line.GetString("method") is { } method && line.ContainsKey("id"))
            {
                await AnswerServerRequestAsync(process, line, method, cancellationToken);
                continue;
            }

            if (IsResponse(line, requestId))
            {
                if (line.GetObject("error") is { } error)
                {
                    var message = $"codex refused the turn: {error.GetString("message")}";
                    await wire.WriteAsync(Canonical.ResultLine(turn.TurnId, false, message, error: "harness_error"), cancellationToken);
                    return new TurnOutcome(false, message);
                }

                _activeTurnId = line.GetObject("result")?.GetObject("turn")?.GetString("id");
                continue;
            }

            var p = line.GetObject("params");
            switch (line.GetString("method"))
            {
                case "item/agentMessage/delta" when p?.GetString("delta") is { } delta:
                    await wire.WriteAsync(Canonical.Delta(turn.TurnId, delta), cancellationToken);
                    break;
                case "item/started" when p?.GetObject("item") is { } item:
                    if (ToolUse(item) is { } toolUse)
                    {
                        await wire.WriteAsync(Canonical.AssistantMessage(turn.TurnId, [(JsonNode)toolUse], Raw(item)), cancellationToken);
                    }

                    break;
                case "item/completed" when p?.GetObject("item") is { } item:
                    await OnItemCompletedAsync(turn, wire, item, text, cancellationToken);
                    break;
                case "thread/tokenUsage/updated":
                    usage = p?.GetObject("tokenUsage")?.GetObject("last").Copy() ?? p?.GetObject("tokenUsage").Copy();
                    break;
                case "error" when p?.GetObject("error") is { } error:
                    await wire.WriteAsync(new JsonObject
                    {
                        ["type"] = Canonical.System,
                        ["subtype"] = p.GetBool("willRetry") ? "api_retry" : "error",
                        ["turn_id"] = turn.TurnId.Copy(),
                        ["message"] = error.GetString("message"),
                    }, cancellationToken);
                    break;
                case "turn/completed" when p?.GetObject("turn") is { } done:
                    _activeTurnId = null;
                    var status = done.GetString("status");
                    var success = status == "completed";
                    var result = success
                        ? string.Join("\n\n", text)
                        : done.GetObject("error")?.GetString("message") ?? $"codex turn {status}";
                    await wire.WriteAsync(Canonical.ResultLine(turn.TurnId, success, result, usage, threadId, success ? null : $"turn_{status}"), cancellationToken);
                    return new TurnOutcome(success, result);
                default:
                    break;
            }
        }
    }

    public async Task InterruptAsync(CancellationToken cancellationToken)
    {
        if (_process is { HasExited: false } process && _threadId is { } threadId && _activeTurnId is { } turnId)
        {
            await process.WriteAsync(Request(NextId(), "turn/interrupt", new JsonObject { ["threadId"] = threadId, ["turnId"] = turnId }), cancellationToken);
        }
    }

    private async Task OnItemCompletedAsync(HarnessTurn turn, WireWriter wire, JsonObject item, List<string> text, CancellationToken cancellationToken)
    {
        var id = item.GetString("id") ?? "item";
        switch (item.GetString("type"))
        {
            case "agentMessage" when item.GetString("text") is { } message:
                text.Add(message);
                await wire.WriteAsync(Canonical.AssistantMessage(turn.TurnId, [(JsonNode)Canonical.TextBlock(message)], Raw(item)), cancellationToken);
                break;
            case "commandExecution":
                var exit = item.TryGetPropertyValue("exitCode", out var code) && code is JsonValue v && v.TryGetValue<int>(out var c) ? c : (int?)null;
                var output = item.GetString("aggregatedOutput") ?? "";
                await wire.WriteAsync(Canonical.UserMessage(turn.TurnId, [(JsonNode)Canonical.ToolResult(id, output, exit is not 0)], Raw(item)), cancellationToken);
                break;
            case "fileChange" or "mcpToolCall" or "dynamicToolCall" or "webSearch":
                var failed = item.GetString("status") is "failed" or "declined";
                var content = item.GetObject("result")?.ToJsonString() ?? item.GetString("status") ?? "done";
                await wire.WriteAsync(Canonical.UserMessage(turn.TurnId, [(JsonNode)Canonical.ToolResult(id, content, failed)], Raw(item)), cancellationToken);
                break;
            default:
                break;
        }
    }

    /// <summary>Codex's tool items as Anthropic tool_use blocks (commands look like Claude's Bash tool to clients).</summary>
    private static JsonObject? ToolUse(JsonObject item)
    {
        var id = item.GetString("id") ?? "item";
        return item.GetString("type") switch
        {
            "commandExecution" => Canonical.ToolUse(id, "Bash", new JsonObject { ["command"] = item.GetString("command") }),
            "fileChange" => Canonical.ToolUse(id, "apply_patch", new JsonObject { ["changes"] = item.GetArray("changes").Copy() }),
            "mcpToolCall" => Canonical.ToolUse(id, $"mcp__{item.GetString("server")}__{item.GetString("tool")}", item["arguments"]),
            "dynamicToolCall" => Canonical.ToolUse(id, item.GetString("tool") ?? "tool", item["arguments"]),
            "webSearch" => Canonical.ToolUse(id, "web_search", new JsonObject { ["query"] = item.GetString("query") }),
            _ => null,
        };
    }

    private static JsonObject Raw(JsonObject item) => new() { ["raw"] = item.DeepClone() };

    private async Task<(HarnessProcess Process, string ThreadId)> EnsureThreadAsync(string? token, CancellationToken cancellationToken)
    {
        if (_process is { HasExited: false } running && _threadId is { } existing)
        {
            return (running, existing);
        }

        await StopAsync();
        var process = HarnessProcess.Start(context.Bin("codex"), ["app-server"], context.Workspace, context.ProcessEnvironment(token), context.Logger);
        _process = process;
        _processToken = token;

        await CallAsync(process, "initialize", new JsonObject
        {
            ["clientInfo"] = new JsonObject { ["name"] = "centaur", ["title"] = "Centaur", ["version"] = "1.0.0" },
        }, cancellationToken);
        await process.WriteAsync(new JsonObject { ["method"] = "initialized" }, cancellationToken);

        var threadOptions = new JsonObject
        {
            ["cwd"] = context.Workspace,
            ["sandbox"] = "danger-full-access",
            ["approvalPolicy"] = "never",
        };
        if (context.Setup.Model is { } model)
        {
            threadOptions["model"] = model;
        }

        JsonObject? thread = null;
        if (context.LoadSessionId() is { } stored)
        {
            var resume = (JsonObject)threadOptions.DeepClone();
            resume["threadId"] = stored;
            var resumed = await CallAsync(process, "thread/resume", resume, cancellationToken, failOnError: false);
            thread = resumed?.GetObject("thread");
            HarnessLog.Session(context.Logger, Name, stored, thread is null ? "resume failed, starting a new thread" : "resume");
        }

        thread ??= (await CallAsync(process, "thread/start", threadOptions, cancellationToken))?.GetObject("thread");
        _threadId = thread?.GetString("id") ?? throw new InvalidOperationException("codex app-server returned no thread id");
        if (_threadId != context.LoadSessionId())
        {
            context.SaveSessionId(_threadId);
        }

        return (process, _threadId);
    }

    /// <summary>A request and its response; notifications before it (status, warnings) are not part of any turn yet.</summary>
    private async Task<JsonObject?> CallAsync(HarnessProcess process, string method, JsonObject parameters, CancellationToken cancellationToken, bool failOnError = true)
    {
        var id = NextId();
        await process.WriteAsync(Request(id, method, parameters), cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(RequestTimeout);
        while (await process.ReadAsync(timeout.Token) is { } line)
        {
            if (line.GetString("method") is { } serverMethod && line.ContainsKey("id"))
            {
                await AnswerServerRequestAsync(process, line, serverMethod, cancellationToken);
            }
            else if (IsResponse(line, id))
            {
                if (line.GetObject("error") is { } error)
                {
                    return failOnError ? throw new InvalidOperationException($"codex {method} failed: {error.GetString("message")}") : null;
                }

                return line.GetObject("result");
            }
        }

        throw new InvalidOperationException($"codex exited during {method}: {await process.DescribeExitAsync()}");
    }

    /// <summary>Approvals are accepted (the bubblewrap sandbox is the boundary); anything else is refused explicitly.</summary>
    private async Task AnswerServerRequestAsync(HarnessProcess process, JsonObject request, string method, CancellationToken cancellationToken)
    {
        var response = new JsonObject { ["id"] = request["id"].Copy() };
        if (method.EndsWith("requestApproval", StringComparison.Ordinal))
        {
            response["result"] = new JsonObject { ["decision"] = "accept" };
        }
        else
        {
            HarnessLog.UnexpectedRequest(context.Logger, Name, method);
            response["error"] = new JsonObject { ["code"] = -32601, ["message"] = $"centaur does not handle {method}" };
        }

        await process.WriteAsync(response, cancellationToken);
    }

    private static bool IsResponse(JsonObject line, int id) =>
        !line.ContainsKey("method") && line.TryGetPropertyValue("id", out var node) && node is JsonValue v && v.TryGetValue<int>(out var n) && n == id;

    private static JsonObject Request(int id, string method, JsonObject parameters) =>
        new() { ["id"] = id, ["method"] = method, ["params"] = parameters };

    private int NextId() => Interlocked.Increment(ref _nextId);

    private async Task StopAsync()
    {
        _threadId = null;
        _activeTurnId = null;
        if (_process is { } process)
        {
            _process = null;
            await process.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
