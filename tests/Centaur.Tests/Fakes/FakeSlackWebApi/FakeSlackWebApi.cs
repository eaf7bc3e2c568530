using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Centaur.Tests.Fakes.FakeSlackWebApi;

/// <summary>
/// A fake of Slack's Web API (Slack's servers cannot exist here) for the slack tool: a real Kestrel server on
/// 127.0.0.1 with conversations.replies, chat.postMessage and the two-step file upload. It only accepts the bot
/// token's placeholder, so a test proves the API never held a real token. Every call is recorded.
/// </summary>
public sealed class FakeSlackWebApi : IAsyncDisposable
{
    public const string ExpectedToken = "Bearer centaur-placeholder:slack-bot-token";

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<SlackApiCall> _calls = new();
    private readonly ConcurrentDictionary<string, List<JsonObject>> _threads = new();
    private readonly ConcurrentDictionary<string, byte[]> _uploads = new();
    private long _ts;

    private FakeSlackWebApi(WebApplication app) => _app = app;

    public Uri BaseUrl { get; private set; } = null!;

    public Uri ApiBaseUrl => new(BaseUrl, "api/");

    public IReadOnlyList<SlackApiCall> Calls => [.. _calls];

    /// <summary>Channels whose calls answer channel_not_found.</summary>
    public ConcurrentDictionary<string, bool> MissingChannels { get; } = new();

    public static async Task<FakeSlackWebApi> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fake = new FakeSlackWebApi(app);
        app.Map("/api/{method}", fake.HandleAsync);
        app.MapPost("/upload/{fileId}", async (string fileId, HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            fake._uploads[fileId] = body.ToArray();
            return Results.Text("OK - " + fileId);
        });
        await app.StartAsync();
        fake.BaseUrl = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/') + "/");
        return fake;
    }

    public void AddMessage(string channel, string threadTs, string user, string text) =>
        _threads.GetOrAdd($"{channel}/{threadTs}", _ => []).Add(new JsonObject { ["ts"] = NextTs(), ["user"] = user, ["text"] = text, ["thread_ts"] = threadTs });

    public IReadOnlyList<JsonObject> Thread(string channel, string threadTs) =>
        _threads.TryGetValue($"{channel}/{threadTs}", out var messages) ? [.. messages] : [];

    public byte[]? Upload(string fileId) => _uploads.TryGetValue(fileId, out var bytes) ? bytes : null;

    private async Task HandleAsync(HttpContext context, string method)
    {
        var args = new JsonObject();
        foreach (var (key, value) in context.Request.Query)
        {
            args[key] = value.ToString();
        }

        if (context.Request.HasJsonContentType() && await JsonNode.ParseAsync(context.Request.Body) is JsonObject json)
        {
            foreach (var (key, value) in json)
            {
                args[key] = value?.DeepClone();
            }
        }

        var authorization = context.Request.Headers.Authorization.ToString();
        _calls.Enqueue(new SlackApiCall(method, args, authorization));
        await context.Response.WriteAsync(Dispatch(method, args, authorization).ToJsonString());
    }

    private JsonObject Dispatch(string method, JsonObject args, string authorization)
    {
        if (authorization != ExpectedToken)
        {
            return Error("invalid_auth");
        }

        var channel = (string?)args["channel"] ?? (string?)args["channel_id"];
        if (channel is not null && MissingChannels.ContainsKey(channel))
        {
            return Error("channel_not_found");
        }

        switch (method)
        {
            case "conversations.replies":
                return Ok(new() { ["messages"] = new JsonArray([.. Thread(channel!, (string)args["ts"]!).Select(m => (JsonNode)m.DeepClone())]), ["has_more"] = false });
            case "chat.postMessage":
                var ts = NextTs();
                _threads.GetOrAdd($"{channel}/{args["thread_ts"]}", _ => []).Add(new JsonObject
                {
                    ["ts"] = ts, ["bot_id"] = "BCENTAUR", ["text"] = args["text"]?.DeepClone(), ["thread_ts"] = args["thread_ts"]?.DeepClone(),
                });
                return Ok(new() { ["channel"] = channel, ["ts"] = ts });
            case "files.getUploadURLExternal":
                var fileId = "F" + Interlocked.Increment(ref _ts).ToString(CultureInfo.InvariantCulture);
                return Ok(new() { ["upload_url"] = new Uri(BaseUrl, $"upload/{fileId}").ToString(), ["file_id"] = fileId });
            case "files.completeUploadExternal":
                return Ok(new() { ["files"] = args["files"]?.DeepClone() });
            default:
                return Error("unknown_method");
        }
    }

    private string NextTs()
    {
        var n = Interlocked.Increment(ref _ts);
        return string.Create(CultureInfo.InvariantCulture, $"{1_700_000_000 + n}.{n:000000}");
    }

    private static JsonObject Ok(JsonObject fields)
    {
        fields["ok"] = true;
        return fields;
    }

    private static JsonObject Error(string error) => new() { ["ok"] = false, ["error"] = error };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

public sealed record SlackApiCall(string Method, JsonObject Args, string Authorization);
