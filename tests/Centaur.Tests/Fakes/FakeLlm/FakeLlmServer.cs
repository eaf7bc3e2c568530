using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace Centaur.Tests.Fakes.FakeLlm;

/// <summary>
/// A fake LLM provider for the real harness CLIs (no provider is reachable here): the Anthropic Messages API
/// (/v1/messages, JSON and SSE) and the OpenAI Responses (/v1/responses) and Chat Completions APIs, streaming like
/// the real ones. It listens on 127.0.0.1 and on a Unix socket; the socket stands in for the egress proxy that a
/// sandbox reaches (sandboxes have no network). Replies come from the per-test queue, else from the default rules:
/// a tool result → "Tool result was: …"; "TOOL: cmd" → a shell tool call; anything else → "Echo: … (msgs=N)".
/// </summary>
public sealed partial class FakeLlmServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<FakeReply> _script = new();
    private readonly ConcurrentQueue<FakeLlmRequest> _requests = new();
    private int _seq;

    private FakeLlmServer(WebApplication app, string socketPath)
    {
        _app = app;
        SocketPath = socketPath;
    }

    public string Url { get; private set; } = "";

    /// <summary>The HTTPS port when started with a certificate (as api.anthropic.com behind the egress proxy), else 0.</summary>
    public int TlsPort { get; private set; }

    public string SocketPath { get; }

    public IReadOnlyList<FakeLlmRequest> Requests => [.. _requests];

    /// <summary>Every model call waits this long before answering (cancel and timeout tests).</summary>
    public TimeSpan Delay { get; set; }

    public static async Task<FakeLlmServer> StartAsync(string socketPath, CancellationToken cancellationToken, X509Certificate2? certificate = null)
    {
        File.Delete(socketPath);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0);
            k.ListenUnixSocket(socketPath);
            if (certificate is not null)
            {
                k.Listen(IPAddress.Loopback, 0, listen =>
                {
                    listen.Protocols = HttpProtocols.Http1AndHttp2;
                    listen.UseHttps(certificate);
                });
            }
        });
        var app = builder.Build();
        var server = new FakeLlmServer(app, socketPath);
        app.MapPost("/v1/messages", server.MessagesAsync);
        app.MapPost("/v1/messages/count_tokens", () => Results.Json(new { input_tokens = 42 }));
        app.MapPost("/v1/responses", server.ResponsesAsync);
        app.MapPost("/v1/chat/completions", server.ChatAsync);
        app.MapGet("/v1/models", () => Results.Json(new { @object = "list", data = new[] { new { id = "fake-model", @object = "model" } } }));
        app.MapFallback((HttpContext c) => Results.Json(new { type = "error", error = new { type = "not_found_error", message = $"fake: no route {c.Request.Method} {c.Request.Path}" } }, statusCode: 404));
        await app.StartAsync(cancellationToken);
        server.Url = app.Urls.First(u => u.StartsWith("http://127.0.0.1", StringComparison.Ordinal));
        server.TlsPort = app.Urls.FirstOrDefault(u => u.StartsWith("https://127.0.0.1", StringComparison.Ordinal)) is { } https ? new Uri(https).Port : 0;
        return server;
    }

    /// <summary>Queues replies for the next model calls (in order); afterwards the default rules answer again.</summary>
    public void Enqueue(params FakeReply[] replies)
    {
        foreach (var reply in replies)
        {
            _script.Enqueue(reply);
        }
    }

    public void Reset()
    {
        _script.Clear();
        _requests.Clear();
        Delay = TimeSpan.Zero;
    }

    private FakeReply Decide(FakeLlmRequest request)
    {
        if (_script.TryDequeue(out var scripted))
        {
            return scripted;
        }

        if (request.ToolOutput is { } output)
        {
            var trimmed = output.Trim();
            return FakeReply.Say("Tool result was: " + (trimmed.Length > 300 ? trimmed[..300] : trimmed));
        }

        var match = ToolPattern().Match(request.UserText);
        if (match.Success)
        {
            return FakeReply.RunShell(match.Groups[1].Value.Trim());
        }

        var text = Whitespace().Replace(request.UserText, " ").Trim();
        return FakeReply.Say($"Echo: {(text.Length > 160 ? text[^160..] : text)} (msgs={request.MessageCount})");
    }

    // ---------------- Anthropic Messages ----------------

    private async Task MessagesAsync(HttpContext context)
    {
        var body = await ReadBodyAsync(context);
        var messages = body["messages"] as JsonArray ?? [];
        var lastUser = messages.OfType<JsonObject>().LastOrDefault(m => m["role"]?.GetValue<string>() == "user");
        string? toolOutput = null;
        var userText = "";
        if (lastUser?["content"] is JsonArray blocks)
        {
            var toolResult = blocks.OfType<JsonObject>().LastOrDefault(b => Type(b) == "tool_result");
            toolOutput = toolResult is null ? null : TextOf(toolResult["content"]);
            userText = blocks.OfType<JsonObject>()
                .Where(b => Type(b) == "text" && !(b["text"]?.GetValue<string>() ?? "").StartsWith("<system-reminder>", StringComparison.Ordinal))
                .Select(b => b["text"]!.GetValue<string>()).LastOrDefault() ?? "";
        }
        else if (lastUser?["content"] is JsonValue s)
        {
            userText = s.GetValue<string>();
        }

        var request = Record(context, "anthropic", body, toolOutput, userText, messages.Count);
        var reply = await ReplyAsync(request, context.RequestAborted);
        var seq = Interlocked.Increment(ref _seq);
        var tools = (body["tools"] as JsonArray ?? []).OfType<JsonObject>().Select(t => t["name"]?.GetValue<string>()).ToList();
        var toolName = tools.Contains("Bash") || !tools.Contains("bash") ? "Bash" : "bash";
        JsonObject block = reply.IsToolCall
            ? new() { ["type"] = "tool_use", ["id"] = $"toolu_fake_{seq}", ["name"] = toolName, ["input"] = new JsonObject { ["command"] = reply.Command, ["description"] = "Run command" } }
            : new() { ["type"] = "text", ["text"] = reply.Text };
        var stopReason = reply.IsToolCall ? "tool_use" : "end_turn";
        var usage = new JsonObject { ["input_tokens"] = 12, ["output_tokens"] = 7, ["cache_creation_input_tokens"] = 0, ["cache_read_input_tokens"] = 0 };
        var message = new JsonObject
        {
            ["id"] = $"msg_fake_{seq}",
            ["type"] = "message",
            ["role"] = "assistant",
            ["model"] = body["model"]?.GetValue<string>() ?? "fake-model",
            ["content"] = new JsonArray(block),
            ["stop_reason"] = stopReason,
            ["stop_sequence"] = null,
            ["usage"] = usage,
        };

        if (body["stream"]?.GetValue<bool>() != true)
        {
            await WriteJsonAsync(context, message);
            return;
        }

        StartSse(context);
        var start = (JsonObject)message.DeepClone();
        start["content"] = new JsonArray();
        start["stop_reason"] = null;
        await SseAsync(context, "message_start", new JsonObject { ["type"] = "message_start", ["message"] = start });
        if (reply.IsToolCall)
        {
            var empty = (JsonObject)block.DeepClone();
            empty["input"] = new JsonObject();
            await SseAsync(context, "content_block_start", new JsonObject { ["type"] = "content_block_start", ["index"] = 0, ["content_block"] = empty });
            var json = block["input"]!.ToJsonString();
            foreach (var part in new[] { json[..10], json[10..] })
            {
                await SseAsync(context, "content_block_delta", new JsonObject { ["type"] = "content_block_delta", ["index"] = 0, ["delta"] = new JsonObject { ["type"] = "input_json_delta", ["partial_json"] = part } });
            }
        }
        else
        {
            await SseAsync(context, "content_block_start", new JsonObject { ["type"] = "content_block_start", ["index"] = 0, ["content_block"] = new JsonObject { ["type"] = "text", ["text"] = "" } });
            await SseAsync(context, "ping", new JsonObject { ["type"] = "ping" });
            foreach (var word in Words(reply.Text!))
            {
                await SseAsync(context, "content_block_delta", new JsonObject { ["type"] = "content_block_delta", ["index"] = 0, ["delta"] = new JsonObject { ["type"] = "text_delta", ["text"] = word } });
            }
        }

        await SseAsync(context, "content_block_stop", new JsonObject { ["type"] = "content_block_stop", ["index"] = 0 });
        await SseAsync(context, "message_delta", new JsonObject { ["type"] = "message_delta", ["delta"] = new JsonObject { ["stop_reason"] = stopReason, ["stop_sequence"] = null }, ["usage"] = new JsonObject { ["output_tokens"] = 7 } });
        await SseAsync(context, "message_stop", new JsonObject { ["type"] = "message_stop" });
    }

    // ---------------- OpenAI Responses ----------------

    private async Task ResponsesAsync(HttpContext context)
    {
        var body = await ReadBodyAsync(context);
        var input = body["input"] as JsonArray ?? [];
        var last = input.OfType<JsonObject>().LastOrDefault();
        string? toolOutput = Type(last) is "function_call_output" or "custom_tool_call_output" ? TextOf(last!["output"]) : null;
        var user = input.OfType<JsonObject>().LastOrDefault(i => i["role"]?.GetValue<string>() == "user");
        var userText = (user?["content"] as JsonArray ?? []).OfType<JsonObject>()
            .Where(c => Type(c) == "input_text" && !(c["text"]?.GetValue<string>() ?? "").StartsWith('<') && !(c["text"]?.GetValue<string>() ?? "").StartsWith("# AGENTS.md", StringComparison.Ordinal))
            .Select(c => c["text"]!.GetValue<string>()).LastOrDefault() ?? "";

        var request = Record(context, "responses", body, toolOutput, userText, input.Count);
        var reply = await ReplyAsync(request, context.RequestAborted);
        var seq = Interlocked.Increment(ref _seq);
        JsonObject item;
        if (reply.IsToolCall)
        {
            var names = (body["tools"] as JsonArray ?? []).OfType<JsonObject>().Select(t => t["name"]?.GetValue<string>()).ToList();
            var (name, args) = names.Contains("exec_command")
                ? ("exec_command", new JsonObject { ["cmd"] = reply.Command })
                : ("shell", new JsonObject { ["command"] = new JsonArray("bash", "-lc", reply.Command) });
            item = new JsonObject { ["type"] = "function_call", ["id"] = $"fc_fake_{seq}", ["call_id"] = $"call_fake_{seq}", ["name"] = name, ["arguments"] = args.ToJsonString(), ["status"] = "completed" };
        }
        else
        {
            item = new JsonObject
            {
                ["type"] = "message",
                ["id"] = $"msg_fake_{seq}",
                ["role"] = "assistant",
                ["status"] = "completed",
                ["content"] = new JsonArray(new JsonObject { ["type"] = "output_text", ["text"] = reply.Text, ["annotations"] = new JsonArray() }),
            };
        }

        var response = new JsonObject
        {
            ["id"] = $"resp_fake_{seq}",
            ["object"] = "response",
            ["created_at"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["status"] = "completed",
            ["model"] = body["model"]?.GetValue<string>() ?? "fake-model",
            ["output"] = new JsonArray(item),
            ["usage"] = new JsonObject
            {
                ["input_tokens"] = 12,
                ["input_tokens_details"] = new JsonObject { ["cached_tokens"] = 0 },
                ["output_tokens"] = 7,
                ["output_tokens_details"] = new JsonObject { ["reasoning_tokens"] = 0 },
                ["total_tokens"] = 19,
            },
        };

        if (body["stream"]?.GetValue<bool>() == false)
        {
            await WriteJsonAsync(context, response);
            return;
        }

        StartSse(context);
        var inProgress = (JsonObject)response.DeepClone();
        inProgress["status"] = "in_progress";
        inProgress["output"] = new JsonArray();
        await SseAsync(context, "response.created", new JsonObject { ["type"] = "response.created", ["response"] = inProgress });
        var itemId = item["id"]!.GetValue<string>();
        if (reply.IsToolCall)
        {
            var added = (JsonObject)item.DeepClone();
            added["arguments"] = "";
            added["status"] = "in_progress";
            await SseAsync(context, "response.output_item.added", new JsonObject { ["type"] = "response.output_item.added", ["output_index"] = 0, ["item"] = added });
            await SseAsync(context, "response.function_call_arguments.delta", new JsonObject { ["type"] = "response.function_call_arguments.delta", ["item_id"] = itemId, ["output_index"] = 0, ["delta"] = item["arguments"]!.GetValue<string>() });
            await SseAsync(context, "response.function_call_arguments.done", new JsonObject { ["type"] = "response.function_call_arguments.done", ["item_id"] = itemId, ["output_index"] = 0, ["arguments"] = item["arguments"]!.GetValue<string>() });
        }
        else
        {
            var added = (JsonObject)item.DeepClone();
            added["status"] = "in_progress";
            added["content"] = new JsonArray();
            await SseAsync(context, "response.output_item.added", new JsonObject { ["type"] = "response.output_item.added", ["output_index"] = 0, ["item"] = added });
            await SseAsync(context, "response.content_part.added", new JsonObject { ["type"] = "response.content_part.added", ["item_id"] = itemId, ["output_index"] = 0, ["content_index"] = 0, ["part"] = new JsonObject { ["type"] = "output_text", ["text"] = "", ["annotations"] = new JsonArray() } });
            foreach (var word in Words(reply.Text!))
            {
                await SseAsync(context, "response.output_text.delta", new JsonObject { ["type"] = "response.output_text.delta", ["item_id"] = itemId, ["output_index"] = 0, ["content_index"] = 0, ["delta"] = word });
            }

            await SseAsync(context, "response.output_text.done", new JsonObject { ["type"] = "response.output_text.done", ["item_id"] = itemId, ["output_index"] = 0, ["content_index"] = 0, ["text"] = reply.Text });
        }

        await SseAsync(context, "response.output_item.done", new JsonObject { ["type"] = "response.output_item.done", ["output_index"] = 0, ["item"] = item.DeepClone() });
        await SseAsync(context, "response.completed", new JsonObject { ["type"] = "response.completed", ["response"] = response });
    }

    // ---------------- OpenAI Chat Completions ----------------

    private async Task ChatAsync(HttpContext context)
    {
        var body = await ReadBodyAsync(context);
        var messages = body["messages"] as JsonArray ?? [];
        var last = messages.OfType<JsonObject>().LastOrDefault();
        var isTool = last?["role"]?.GetValue<string>() == "tool";
        var request = Record(context, "chat", body, isTool ? TextOf(last!["content"]) : null, isTool ? "" : TextOf(last?["content"]), messages.Count);
        var reply = await ReplyAsync(request, context.RequestAborted);
        var seq = Interlocked.Increment(ref _seq);
        var id = $"chatcmpl_fake_{seq}";
        var toolCall = new JsonObject
        {
            ["index"] = 0,
            ["id"] = $"call_fake_{seq}",
            ["type"] = "function",
            ["function"] = new JsonObject { ["name"] = "bash", ["arguments"] = new JsonObject { ["command"] = reply.Command }.ToJsonString() },
        };
        if (body["stream"]?.GetValue<bool>() != true)
        {
            JsonObject message = reply.IsToolCall
                ? new() { ["role"] = "assistant", ["content"] = null, ["tool_calls"] = new JsonArray(toolCall) }
                : new() { ["role"] = "assistant", ["content"] = reply.Text };
            await WriteJsonAsync(context, new JsonObject
            {
                ["id"] = id,
                ["object"] = "chat.completion",
                ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["message"] = message, ["finish_reason"] = reply.IsToolCall ? "tool_calls" : "stop" }),
                ["usage"] = new JsonObject { ["prompt_tokens"] = 12, ["completion_tokens"] = 7, ["total_tokens"] = 19 },
            });
            return;
        }

        StartSse(context);
        JsonObject Chunk(JsonObject delta, string? finish) => new()
        {
            ["id"] = id,
            ["object"] = "chat.completion.chunk",
            ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = finish }),
        };
        if (reply.IsToolCall)
        {
            await SseAsync(context, null, Chunk(new JsonObject { ["role"] = "assistant", ["tool_calls"] = new JsonArray(toolCall) }, null));
            await SseAsync(context, null, Chunk(new JsonObject(), "tool_calls"));
        }
        else
        {
            await SseAsync(context, null, Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "" }, null));
            foreach (var word in Words(reply.Text!))
            {
                await SseAsync(context, null, Chunk(new JsonObject { ["content"] = word }, null));
            }

            await SseAsync(context, null, Chunk(new JsonObject(), "stop"));
        }

        await context.Response.WriteAsync("data: [DONE]\n\n");
    }

    // ---------------- plumbing ----------------

    private FakeLlmRequest Record(HttpContext context, string api, JsonObject body, string? toolOutput, string userText, int count)
    {
        var headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
        var request = new FakeLlmRequest(api, context.Request.Path, body, headers) { ToolOutput = toolOutput, UserText = userText, MessageCount = count };
        _requests.Enqueue(request);
        return request;
    }

    private async Task<FakeReply> ReplyAsync(FakeLlmRequest request, CancellationToken cancellationToken)
    {
        var reply = Decide(request);
        var delay = reply.Delay > TimeSpan.Zero ? reply.Delay : Delay;
        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, cancellationToken);
        }

        return reply;
    }

    private static async Task<JsonObject> ReadBodyAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync(context.RequestAborted);
        try
        {
            return JsonNode.Parse(text) as JsonObject ?? [];
        }
        catch (JsonException)
        {
            return [];
        }
    }

    private static void StartSse(HttpContext context)
    {
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["request-id"] = "req_fake";
    }

    private static async Task SseAsync(HttpContext context, string? eventName, JsonObject data)
    {
        var text = (eventName is null ? "" : $"event: {eventName}\n") + $"data: {data.ToJsonString()}\n\n";
        await context.Response.WriteAsync(text, context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }

    private static async Task WriteJsonAsync(HttpContext context, JsonObject body)
    {
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString(), context.RequestAborted);
    }

    private static string? Type(JsonObject? o) => o?["type"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static string TextOf(JsonNode? content) => content switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonArray a => string.Join(" ", a.Select(b => b is JsonObject o && o["text"] is JsonValue t ? t.GetValue<string>() : b is JsonValue sv && sv.TryGetValue<string>(out var str) ? str : "")),
        JsonObject o when o["text"] is JsonValue t => t.GetValue<string>(),
        null => "",
        _ => content.ToJsonString(),
    };

    private static IEnumerable<string> Words(string text)
    {
        var words = WordPattern().Matches(text).Select(m => m.Value).ToList();
        return words.Count == 0 ? [text] : words;
    }

    [GeneratedRegex(@"TOOL:\s*(.+)", RegexOptions.Singleline)]
    private static partial Regex ToolPattern();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    [GeneratedRegex(@"\S+\s*")]
    private static partial Regex WordPattern();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (File.Exists(SocketPath))
        {
            File.Delete(SocketPath);
        }
    }
}
