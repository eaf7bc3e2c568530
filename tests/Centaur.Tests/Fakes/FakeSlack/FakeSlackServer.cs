using System.Collections.Concurrent;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Centaur.Tests.Fakes.FakeSlack;

/// <summary>
/// A fake of Slack's servers (they cannot exist here): a real Kestrel server on 127.0.0.1 that answers the Web API
/// methods the adapter uses at /api/&lt;method&gt; (JSON, form and GET bodies), keeps channels, threads, reactions and
/// message metadata, enforces chat.update's 4,000-character limit, can inject 429 + Retry-After and other faults,
/// and serves Socket Mode (apps.connections.open → ws://…/link, hello, envelopes, acks, disconnect).
/// Every call is recorded.
/// </summary>
public sealed class FakeSlackServer : IAsyncDisposable
{
    public const string BotUserId = "UCENTAUR";
    public const string BotId = "BCENTAUR";
    public const string TeamId = "T0001";

    private readonly WebApplication _app;
    private readonly Lock _lock = new();
    private readonly List<SlackCall> _calls = [];
    private readonly List<FakeSlackMessage> _messages = [];
    private readonly HashSet<(string Channel, string Ts, string Name)> _reactions = [];
    private readonly ConcurrentDictionary<string, ConcurrentQueue<FakeFault>> _faults = new();
    private readonly List<FakeSocket> _sockets = [];
    private long _ts;

    private FakeSlackServer(WebApplication app) => _app = app;

    public Uri BaseUrl { get; private set; } = null!;

    public Uri ApiBaseUrl => new(BaseUrl, "api/");

    /// <summary>Users whose users.info says is_admin (workspace admins); everyone else is a plain member.</summary>
    public HashSet<string> WorkspaceAdmins { get; } = [];

    /// <summary>chat.startStream/appendStream/stopStream exist (newer workspaces) or answer unknown_method.</summary>
    public bool StreamingSupported { get; set; }

    public static async Task<FakeSlackServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fake = new FakeSlackServer(app);
        app.UseWebSockets();
        app.Map("/api/{method}", fake.HandleApiAsync);
        app.MapPost("/upload/{fileId}", (string fileId) => Results.Text("OK - " + fileId));
        app.Map("/link", fake.HandleSocketAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        fake.BaseUrl = new Uri(address.TrimEnd('/') + "/");
        return fake;
    }

    public IReadOnlyList<SlackCall> Calls
    {
        get
        {
            lock (_lock)
            {
                return [.. _calls];
            }
        }
    }

    public IReadOnlyList<SlackCall> CallsTo(string method) => [.. Calls.Where(c => c.Method == method)];

    /// <summary>Messages posted in a thread (by anyone), oldest first, with their current text.</summary>
    public IReadOnlyList<FakeSlackMessage> Thread(string channel, string threadTs)
    {
        lock (_lock)
        {
            return [.. _messages.Where(m => m.Channel == channel && (m.Ts == threadTs || m.ThreadTs == threadTs)).Select(m => m with { })];
        }
    }

    public IReadOnlyList<FakeSlackMessage> BotMessages(string channel)
    {
        lock (_lock)
        {
            return [.. _messages.Where(m => m.Channel == channel && m.BotId == BotId).Select(m => m with { })];
        }
    }

    public bool HasReaction(string channel, string ts, string name)
    {
        lock (_lock)
        {
            return _reactions.Contains((channel, ts, name));
        }
    }

    /// <summary>A message written by a person (so conversations.replies can return it as thread context).</summary>
    public string AddHumanMessage(string channel, string? threadTs, string user, string text)
    {
        lock (_lock)
        {
            var ts = NextTs();
            _messages.Add(new FakeSlackMessage(channel, ts, threadTs, text, null, user, null, null));
            return ts;
        }
    }

    /// <summary>The next <paramref name="count"/> calls to <paramref name="method"/> fail this way.</summary>
    public void Fail(string method, FakeFault fault, int count = 1)
    {
        var queue = _faults.GetOrAdd(method, _ => new ConcurrentQueue<FakeFault>());
        for (var i = 0; i < count; i++)
        {
            queue.Enqueue(fault);
        }
    }

    /// <summary>
    /// Sees each Web API call before Slack applies it (a test may crash the caller here); false drops the call:
    /// the connection is aborted and nothing is applied, as if the request never reached Slack.
    /// </summary>
    public Func<SlackCall, bool>? BeforeApply { get; set; }

    /// <summary>Sees each Web API call after Slack applied it and before the caller gets the answer.</summary>
    public Action<SlackCall>? AfterApply { get; set; }

    public IReadOnlyList<FakeSocket> Sockets
    {
        get
        {
            lock (_lock)
            {
                return [.. _sockets];
            }
        }
    }

    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string because)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (!condition())
        {
            if (cts.IsCancellationRequested)
            {
                throw new TimeoutException($"Timed out after {timeout} waiting until {because}");
            }

            await Task.Delay(25, CancellationToken.None);
        }
    }

    private string NextTs()
    {
        var n = Interlocked.Increment(ref _ts);
        return string.Create(CultureInfo.InvariantCulture, $"{1_700_000_000 + n}.{n % 1_000_000:000000}");
    }

    private async Task HandleApiAsync(HttpContext context, string method)
    {
        var args = await ReadArgumentsAsync(context.Request);
        var token = context.Request.Headers.Authorization.ToString().Replace("Bearer ", "", StringComparison.Ordinal);
        var call = new SlackCall(method, args, token, DateTimeOffset.UtcNow);
        lock (_lock)
        {
            _calls.Add(call);
        }

        if (BeforeApply?.Invoke(call) == false)
        {
            context.Abort();
            return;
        }

        if (_faults.TryGetValue(method, out var faults) && faults.TryDequeue(out var fault))
        {
            context.Response.StatusCode = fault.Status;
            if (fault.RetryAfterSeconds is { } retryAfter)
            {
                context.Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
            }

            await context.Response.WriteAsJsonAsync(new JsonObject { ["ok"] = false, ["error"] = fault.Error });
            return;
        }

        JsonObject reply;
        lock (_lock)
        {
            reply = Dispatch(method, args, token);
        }

        AfterApply?.Invoke(call);

        await context.Response.WriteAsync(reply.ToJsonString(), context.RequestAborted);
    }

    private JsonObject Dispatch(string method, JsonObject args, string token)
    {
        if (method == "apps.connections.open")
        {
            return token.StartsWith("xapp-", StringComparison.Ordinal)
                ? Ok(new() { ["url"] = $"ws://{BaseUrl.Authority}/link/?ticket={Interlocked.Increment(ref _ts)}" })
                : Error("not_allowed_token_type");
        }

        if (!token.StartsWith("xoxb-", StringComparison.Ordinal))
        {
            return Error("invalid_auth");
        }

        var channel = (string?)args["channel"];
        switch (method)
        {
            case "auth.test":
                return Ok(new() { ["user_id"] = BotUserId, ["bot_id"] = BotId, ["team_id"] = TeamId, ["user"] = "centaur" });
            case "chat.postMessage":
                if (channel is null || (args["text"] is null && args["blocks"] is null))
                {
                    return Error(channel is null ? "channel_not_found" : "no_text");
                }

                var text = (string?)args["text"] ?? "";
                var posted = new FakeSlackMessage(channel, NextTs(), (string?)args["thread_ts"], text.Length > 40_000 ? text[..40_000] : text,
                    Blocks(args["blocks"]), BotUserId, BotId, Metadata(args["metadata"]));
                _messages.Add(posted);
                return Ok(new() { ["channel"] = channel, ["ts"] = posted.Ts });
            case "chat.update":
                var index = _messages.FindIndex(m => m.Channel == channel && m.Ts == (string?)args["ts"]);
                if (index < 0)
                {
                    return Error("message_not_found");
                }

                if (((string?)args["text"])?.Length > 4000)
                {
                    return Error("msg_too_long");
                }

                if (_messages[index].Streaming)
                {
                    return Error("streaming_state_conflict");
                }

                // Text without blocks removes the blocks; neither keeps them (Slack's documented behaviour).
                var current = _messages[index];
                _messages[index] = current with
                {
                    Text = (string?)args["text"] ?? current.Text,
                    Blocks = args["blocks"] is not null ? Blocks(args["blocks"]) : args["text"] is not null ? null : current.Blocks,
                    Edits = current.Edits + 1,
                };
                return Ok(new() { ["channel"] = channel, ["ts"] = current.Ts });
            case "chat.postEphemeral":
                return Ok(new() { ["message_ts"] = NextTs() });
            case "reactions.add":
                return _reactions.Add((channel!, (string)args["timestamp"]!, (string)args["name"]!)) ? Ok([]) : Error("already_reacted");
            case "reactions.remove":
                return _reactions.Remove((channel!, (string)args["timestamp"]!, (string)args["name"]!)) ? Ok([]) : Error("no_reaction");
            case "conversations.replies":
                var ts = (string?)args["ts"];
                var thread = _messages.Where(m => m.Channel == channel && (m.Ts == ts || m.ThreadTs == ts)).Select(m => m.ToJson());
                return Ok(new() { ["messages"] = new JsonArray([.. thread]), ["has_more"] = false });
            case "users.info":
                return Ok(new()
                {
                    ["user"] = new JsonObject
                    {
                        ["id"] = (string?)args["user"], ["name"] = "person", ["is_admin"] = WorkspaceAdmins.Contains((string?)args["user"] ?? ""),
                        ["is_owner"] = false, ["deleted"] = false, ["profile"] = new JsonObject { ["display_name"] = "Person" },
                    },
                });
            case "chat.delete":
                var removed = _messages.RemoveAll(m => m.Channel == channel && m.Ts == (string?)args["ts"] && m.BotId == BotId);
                return removed > 0 ? Ok(new() { ["channel"] = channel, ["ts"] = (string?)args["ts"] }) : Error("message_not_found");
            case "files.getUploadURLExternal":
                var fileId = "F" + Interlocked.Increment(ref _ts);
                return Ok(new() { ["upload_url"] = new Uri(BaseUrl, $"upload/{fileId}").ToString(), ["file_id"] = fileId });
            case "files.completeUploadExternal":
                return Ok(new() { ["files"] = args["files"]?.DeepClone() });
            case "chat.startStream" when StreamingSupported:
                var stream = new FakeSlackMessage(channel!, NextTs(), (string?)args["thread_ts"], (string?)args["markdown_text"] ?? "", null, BotUserId, BotId, null) { Streaming = true };
                _messages.Add(stream);
                return Ok(new() { ["channel"] = channel, ["ts"] = stream.Ts });
            case "chat.appendStream" or "chat.stopStream" when StreamingSupported:
                var at = _messages.FindIndex(m => m.Channel == channel && m.Ts == (string?)args["ts"]);
                if (at < 0 || !_messages[at].Streaming)
                {
                    return Error("message_not_in_streaming_state");
                }

                _messages[at] = _messages[at] with
                {
                    Text = _messages[at].Text + ((string?)args["markdown_text"] ?? ""),
                    Streaming = method == "chat.appendStream",
                    Blocks = method == "chat.stopStream" ? Blocks(args["blocks"]) : _messages[at].Blocks,
                };
                return Ok(new() { ["channel"] = channel, ["ts"] = _messages[at].Ts });
            default:
                return Error("unknown_method");
        }
    }

    private static JsonArray? Blocks(JsonNode? node) => node switch
    {
        JsonArray array => (JsonArray)array.DeepClone(),
        JsonValue value when value.TryGetValue<string>(out var text) => JsonNode.Parse(text) as JsonArray,
        _ => null,
    };

    private static JsonObject? Metadata(JsonNode? node) => node switch
    {
        JsonObject metadata => (JsonObject)metadata.DeepClone(),
        JsonValue value when value.TryGetValue<string>(out var text) => JsonNode.Parse(text) as JsonObject,
        _ => null,
    };

    private static async Task<JsonObject> ReadArgumentsAsync(HttpRequest request)
    {
        var args = new JsonObject();
        foreach (var (key, value) in request.Query)
        {
            args[key] = value.ToString();
        }

        if (request.HasJsonContentType())
        {
            if (await JsonNode.ParseAsync(request.Body) is JsonObject json)
            {
                foreach (var (key, value) in json)
                {
                    args[key] = value?.DeepClone();
                }
            }
        }
        else if (request.HasFormContentType)
        {
            foreach (var (key, value) in await request.ReadFormAsync())
            {
                args[key] = value.ToString();
            }
        }

        return args;
    }

    private static JsonObject Ok(JsonObject fields)
    {
        fields["ok"] = true;
        return fields;
    }

    private static JsonObject Error(string error) => new() { ["ok"] = false, ["error"] = error };

    private async Task HandleSocketAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = 400;
            return;
        }

        using var webSocket = await context.WebSockets.AcceptWebSocketAsync();
        var socket = new FakeSocket(webSocket);
        lock (_lock)
        {
            _sockets.Add(socket);
        }

        await socket.SendAsync(new JsonObject { ["type"] = "hello", ["num_connections"] = Sockets.Count, ["connection_info"] = new JsonObject { ["app_id"] = "A0001" } });
        await socket.ReceiveUntilClosedAsync(context.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var socket in Sockets)
        {
            socket.Abort();
        }

        using (var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2)))
        {
            await _app.StopAsync(stop.Token);
        }

        await _app.DisposeAsync();
    }
}

public sealed record SlackCall(string Method, JsonObject Args, string Token, DateTimeOffset At);

public sealed record FakeFault(int Status, string Error, int? RetryAfterSeconds = null)
{
    public static FakeFault RateLimited(int retryAfterSeconds) => new(429, "ratelimited", retryAfterSeconds);
}

public sealed record FakeSlackMessage(string Channel, string Ts, string? ThreadTs, string Text, JsonArray? Blocks, string? User, string? BotId, JsonObject? Metadata)
{
    public int Edits { get; init; }

    public bool Streaming { get; init; }

    /// <summary>Every mrkdwn text the message shows: its section blocks when it has some, else its text (as Slack shows `blocks: []`).</summary>
    public string Shown => Blocks?.OfType<JsonObject>().Where(b => (string?)b["type"] == "section").ToList() is { Count: > 0 } sections
        ? string.Join("\n", sections.Select(b => (string?)b["text"]?["text"]))
        : Text;

    public bool HasButton(string actionId) =>
        Blocks?.OfType<JsonObject>().Any(b => b["elements"]?.AsArray().OfType<JsonObject>().Any(e => (string?)e["action_id"] == actionId) == true) == true;

    public JsonObject ToJson()
    {
        var json = new JsonObject { ["type"] = "message", ["ts"] = Ts, ["text"] = Text, ["thread_ts"] = ThreadTs, ["user"] = User };
        if (BotId is not null)
        {
            json["bot_id"] = BotId;
        }

        if (Metadata is not null)
        {
            json["metadata"] = Metadata.DeepClone();
        }

        return json;
    }
}

/// <summary>One Socket Mode connection as Slack's side sees it: push frames, read the acks the app sends back.</summary>
public sealed class FakeSocket(WebSocket socket)
{
    private readonly ConcurrentQueue<string> _acks = new();
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _send = new(1, 1);

    public IReadOnlyCollection<string> Acks => _acks;

    public Task Closed => _closed.Task;

    public async Task SendAsync(JsonObject frame)
    {
        await _send.WaitAsync();
        try
        {
            await socket.SendAsync(Encoding.UTF8.GetBytes(frame.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);
        }
        finally
        {
            _send.Release();
        }
    }

    public Task SendEnvelopeAsync(string envelopeId, string type, JsonObject payload, int retryAttempt = 0) =>
        SendAsync(new JsonObject
        {
            ["envelope_id"] = envelopeId, ["type"] = type, ["payload"] = payload.DeepClone(),
            ["accepts_response_payload"] = type != "events_api", ["retry_attempt"] = retryAttempt, ["retry_reason"] = retryAttempt > 0 ? "timeout" : "",
        });

    public Task SendDisconnectAsync(string reason) =>
        SendAsync(new JsonObject { ["type"] = "disconnect", ["reason"] = reason, ["debug_info"] = new JsonObject { ["host"] = "fake" } });

    public void Abort() => socket.Abort();

    internal async Task ReceiveUntilClosedAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                var result = await socket.ReceiveAsync(buffer, cancellationToken);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
                    break;
                }

                if (JsonNode.Parse(buffer.AsSpan(0, result.Count)) is JsonObject ack && (string?)ack["envelope_id"] is { } id)
                {
                    _acks.Enqueue(id);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
        }
        finally
        {
            _closed.TrySetResult();
        }
    }
}
