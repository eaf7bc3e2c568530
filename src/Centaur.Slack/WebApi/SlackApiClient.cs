using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;

namespace Centaur.Slack.WebApi;

/// <summary>
/// A small typed Slack Web API client. Slack answers HTTP 200 even for failures ({ok:false,error}); only 429 and 5xx
/// carry meaning in the status. A 429 blocks that method (not the others) for Retry-After seconds, for every caller:
/// the client is a singleton and takes a fresh HttpClient from the factory for each call.
/// </summary>
internal sealed class SlackApiClient(IHttpClientFactory factory, IOptions<SlackOptions> options, TimeProvider time, ILogger<SlackApiClient> logger)
{
    public const string HttpClientName = "slack";
    private const int MaxAttempts = 4;
    private readonly ConcurrentDictionary<string, DateTimeOffset> _blockedUntil = new(StringComparer.Ordinal);

    public async Task<AuthIdentity> AuthTestAsync(CancellationToken cancellationToken)
    {
        var reply = await PostJsonAsync("auth.test", [], cancellationToken);
        return new AuthIdentity((string?)reply["user_id"] ?? "", (string?)reply["bot_id"] ?? "", (string?)reply["team_id"] ?? "");
    }

    /// <summary>Posts a message; returns its ts (the message id).</summary>
    public async Task<string> PostMessageAsync(SlackMessage message, CancellationToken cancellationToken)
    {
        var args = message.ToJson();
        var reply = await PostJsonAsync("chat.postMessage", args, cancellationToken);
        return (string?)reply["ts"] ?? throw new SlackApiException("chat.postMessage", "no_ts");
    }

    public Task UpdateAsync(string channel, string ts, string text, JsonArray? blocks, CancellationToken cancellationToken) =>
        PostJsonAsync("chat.update", new JsonObject { ["channel"] = channel, ["ts"] = ts, ["text"] = text, ["blocks"] = blocks ?? [] }, cancellationToken);

    /// <summary>chat.delete of one of the bot's own messages; a message that is already gone counts as deleted.</summary>
    public async Task DeleteAsync(string channel, string ts, CancellationToken cancellationToken)
    {
        try
        {
            await PostJsonAsync("chat.delete", new JsonObject { ["channel"] = channel, ["ts"] = ts }, cancellationToken);
        }
        catch (SlackApiException ex) when (ex.Error == "message_not_found")
        {
        }
    }

    public Task PostEphemeralAsync(string channel, string user, string text, string? threadTs, CancellationToken cancellationToken) =>
        PostJsonAsync("chat.postEphemeral", new JsonObject { ["channel"] = channel, ["user"] = user, ["text"] = text, ["thread_ts"] = threadTs }, cancellationToken);

    public async Task AddReactionAsync(string channel, string ts, string name, CancellationToken cancellationToken)
    {
        try
        {
            await PostJsonAsync("reactions.add", new JsonObject { ["channel"] = channel, ["timestamp"] = ts, ["name"] = name }, cancellationToken);
        }
        catch (SlackApiException ex) when (ex.Error == "already_reacted")
        {
        }
    }

    public async Task RemoveReactionAsync(string channel, string ts, string name, CancellationToken cancellationToken)
    {
        try
        {
            await PostJsonAsync("reactions.remove", new JsonObject { ["channel"] = channel, ["timestamp"] = ts, ["name"] = name }, cancellationToken);
        }
        catch (SlackApiException ex) when (ex.Error == "no_reaction")
        {
        }
    }

    /// <summary>conversations.replies is a GET method (no JSON bodies).</summary>
    public async Task<IReadOnlyList<JsonObject>> RepliesAsync(string channel, string ts, string? oldest, CancellationToken cancellationToken)
    {
        var messages = new List<JsonObject>();
        string? cursor = null;
        do
        {
            var query = new Dictionary<string, string?>
            {
                ["channel"] = channel, ["ts"] = ts, ["include_all_metadata"] = "true", ["limit"] = "200", ["oldest"] = oldest, ["cursor"] = cursor,
            };
            var reply = await SendAsync("conversations.replies", () => new HttpRequestMessage(HttpMethod.Get, "conversations.replies" + QueryString(query)), BotToken, cancellationToken);
            messages.AddRange(reply["messages"]?.AsArray().OfType<JsonObject>() ?? []);
            cursor = (string?)reply["response_metadata"]?["next_cursor"];
        }
        while (!string.IsNullOrEmpty(cursor));

        return messages;
    }

    public async Task<string?> UserNameAsync(string user, CancellationToken cancellationToken)
    {
        var info = await UserInfoAsync(user, cancellationToken);
        var profile = info?["profile"];
        return (string?)profile?["display_name"] is { Length: > 0 } display ? display : (string?)info?["real_name"] ?? (string?)info?["name"];
    }

    /// <summary>users.info's <c>user</c> object (is_admin, is_owner, deleted, profile, …).</summary>
    public async Task<JsonObject?> UserInfoAsync(string user, CancellationToken cancellationToken)
    {
        var reply = await SendAsync("users.info", () => new HttpRequestMessage(HttpMethod.Get, "users.info" + QueryString(new() { ["user"] = user })), BotToken, cancellationToken);
        return reply["user"] as JsonObject;
    }

    public async Task<string> StartStreamAsync(string channel, string threadTs, string markdown, string? recipientUser, string? recipientTeam, CancellationToken cancellationToken)
    {
        var reply = await PostJsonAsync("chat.startStream", new JsonObject
        {
            ["channel"] = channel, ["thread_ts"] = threadTs, ["markdown_text"] = markdown,
            ["recipient_user_id"] = recipientUser, ["recipient_team_id"] = recipientTeam,
        }, cancellationToken);
        return (string?)reply["ts"] ?? throw new SlackApiException("chat.startStream", "no_ts");
    }

    public Task AppendStreamAsync(string channel, string ts, string markdown, CancellationToken cancellationToken) =>
        PostJsonAsync("chat.appendStream", new JsonObject { ["channel"] = channel, ["ts"] = ts, ["markdown_text"] = markdown }, cancellationToken);

    public Task StopStreamAsync(string channel, string ts, string? markdown, JsonArray? blocks, CancellationToken cancellationToken) =>
        PostJsonAsync("chat.stopStream", new JsonObject { ["channel"] = channel, ["ts"] = ts, ["markdown_text"] = markdown, ["blocks"] = blocks }, cancellationToken);

    /// <summary>files.getUploadURLExternal (form-encoded), the raw upload, then files.completeUploadExternal into the thread.</summary>
    public async Task<string> UploadFileAsync(string channel, string threadTs, string fileName, byte[] content, CancellationToken cancellationToken)
    {
        var form = new Dictionary<string, string> { ["filename"] = fileName, ["length"] = content.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        var target = await SendAsync("files.getUploadURLExternal", () => new HttpRequestMessage(HttpMethod.Post, "files.getUploadURLExternal") { Content = new FormUrlEncodedContent(form) }, BotToken, cancellationToken);
        var uploadUrl = (string?)target["upload_url"] ?? throw new SlackApiException("files.getUploadURLExternal", "no_upload_url");
        var fileId = (string?)target["file_id"] ?? throw new SlackApiException("files.getUploadURLExternal", "no_file_id");
        using (var upload = new ByteArrayContent(content))
        {
            upload.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            using var response = await Http().PostAsync(new Uri(uploadUrl), upload, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new SlackApiException("files.upload", "http_error", ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        await PostJsonAsync("files.completeUploadExternal", new JsonObject
        {
            ["files"] = new JsonArray(new JsonObject { ["id"] = fileId, ["title"] = fileName }),
            ["channel_id"] = channel, ["thread_ts"] = threadTs,
        }, cancellationToken);
        return fileId;
    }

    /// <summary>apps.connections.open with the app-level token; returns a one-shot wss:// URL.</summary>
    public async Task<Uri> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        var reply = await SendAsync("apps.connections.open", () => new HttpRequestMessage(HttpMethod.Post, "apps.connections.open") { Content = new FormUrlEncodedContent([]) }, options.Value.AppToken, cancellationToken);
        return new Uri((string?)reply["url"] ?? throw new SlackApiException("apps.connections.open", "no_url"));
    }

    public Task<JsonObject> PostJsonAsync(string method, JsonObject args, CancellationToken cancellationToken)
    {
        // Slack rejects explicit nulls for some arguments; leave them out.
        foreach (var key in args.Where(p => p.Value is null).Select(p => p.Key).ToList())
        {
            args.Remove(key);
        }

        var json = args.ToJsonString();
        return SendAsync(method, () => new HttpRequestMessage(HttpMethod.Post, method)
        {
            Content = new StringContent(json, Encoding.UTF8, new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" }),
        }, BotToken, cancellationToken);
    }

    private string BotToken => options.Value.BotToken;

    /// <summary>The named client carries Slack:ApiBaseUrl as its base address (SlackServiceExtensions).</summary>
    private HttpClient Http() => factory.CreateClient(HttpClientName);

    private async Task<JsonObject> SendAsync(string method, Func<HttpRequestMessage> build, string token, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            if (_blockedUntil.TryGetValue(method, out var until) && until > time.GetUtcNow())
            {
                await Task.Delay(until - time.GetUtcNow(), time, cancellationToken);
            }

            using var request = build();
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            HttpResponseMessage response;
            try
            {
                response = await Http().SendAsync(request, cancellationToken);
            }
            catch (HttpRequestException ex) when (attempt < MaxAttempts)
            {
                logger.SlackTransientFailure(method, attempt, ex.Message);
                SlackMetrics.ApiRetry(method, "transport");
                await Task.Delay(Backoff(attempt), time, cancellationToken);
                continue;
            }

            using (response)
            {
                if (response.StatusCode == HttpStatusCode.TooManyRequests)
                {
                    var wait = response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(30);
                    _blockedUntil[method] = time.GetUtcNow() + wait;
                    logger.SlackRateLimited(method, wait);
                    if (attempt >= MaxAttempts)
                    {
                        throw new SlackApiException(method, "ratelimited");
                    }

                    SlackMetrics.ApiRetry(method, "ratelimited");
                    continue;
                }

                if ((int)response.StatusCode >= 500)
                {
                    if (attempt >= MaxAttempts)
                    {
                        throw new SlackApiException(method, "http_error", ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture));
                    }

                    SlackMetrics.ApiRetry(method, "http_" + (int)response.StatusCode);
                    await Task.Delay(Backoff(attempt), time, cancellationToken);
                    continue;
                }

                var body = await response.Content.ReadAsStringAsync(cancellationToken);
                var reply = JsonNode.Parse(body) as JsonObject ?? throw new SlackApiException(method, "invalid_response");
                if ((bool?)reply["ok"] != true)
                {
                    throw new SlackApiException(method, (string?)reply["error"] ?? "unknown_error", (string?)reply["detail"]);
                }

                return reply;
            }
        }
    }

    private static TimeSpan Backoff(int attempt) =>
        TimeSpan.FromMilliseconds((250 * Math.Pow(2, attempt - 1)) + Random.Shared.Next(100));

    private static string QueryString(Dictionary<string, string?> query) =>
        "?" + string.Join('&', query.Where(p => p.Value is not null).Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(p.Value!)}"));
}

internal sealed record AuthIdentity(string UserId, string BotId, string TeamId);
