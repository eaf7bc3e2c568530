using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Centaur.Sdk;
using Microsoft.Extensions.Options;

namespace Centaur.Api.Tools.BuiltIn;

/// <summary>
/// Slack, for the thread the agent works in: read its history, post to it, upload a file into it. Calls Slack's Web
/// API through IronProxy with the bot token's placeholder; the proxy puts the real token on the wire.
/// </summary>
internal sealed class SlackTool : ITool
{
    private const int MaxUploadBytes = 50 * 1024 * 1024;
    private readonly IOptions<SlackToolOptions> _options;

    public SlackTool(IOptions<SlackToolOptions> options)
    {
        _options = options;
        Methods =
        [
            ToolMethod.Create<HistoryArgs, JsonObject>("get_thread_history", "The messages of this Slack thread, oldest first.", GetThreadHistoryAsync),
            ToolMethod.Create<PostArgs, JsonObject>("post_message",
                "Posts a message to this Slack thread (your final answer is posted for you; use this for extra messages).", PostMessageAsync),
            ToolMethod.Create<UploadArgs, JsonObject>("upload_file", "Uploads a file into this Slack thread.", UploadFileAsync),
        ];
    }

    public string Name => "slack";

    public string Description => "This thread's Slack conversation: read its history, post a message to it, upload a file into it.";

    public IReadOnlyList<ToolMethod> Methods { get; }

    private async Task<JsonObject> GetThreadHistoryAsync(ToolContext context, HistoryArgs args, CancellationToken cancellationToken)
    {
        var thread = SlackThread.From(context.ThreadKey);
        var query = $"conversations.replies?channel={Uri.EscapeDataString(thread.Channel)}&ts={Uri.EscapeDataString(thread.ThreadTs)}&limit={args.Limit.ToString(CultureInfo.InvariantCulture)}"
            + (args.Cursor is { } cursor ? $"&cursor={Uri.EscapeDataString(cursor)}" : "");
        var reply = await CallAsync(context, HttpMethod.Get, query, null, cancellationToken);
        var messages = new JsonArray();
        foreach (var message in reply["messages"] as JsonArray ?? [])
        {
            messages.Add(new JsonObject
            {
                ["ts"] = message?["ts"]?.DeepClone(),
                ["user"] = message?["user"]?.DeepClone(),
                ["bot_id"] = message?["bot_id"]?.DeepClone(),
                ["text"] = message?["text"]?.DeepClone(),
            });
        }

        return new JsonObject { ["messages"] = messages, ["next_cursor"] = reply["response_metadata"]?["next_cursor"]?.DeepClone() };
    }

    private async Task<JsonObject> PostMessageAsync(ToolContext context, PostArgs args, CancellationToken cancellationToken)
    {
        var thread = SlackThread.From(context.ThreadKey);
        var reply = await CallAsync(context, HttpMethod.Post, "chat.postMessage",
            new JsonObject { ["channel"] = thread.Channel, ["thread_ts"] = thread.ThreadTs, ["text"] = args.Text }, cancellationToken);
        return new JsonObject { ["channel"] = reply["channel"]?.DeepClone(), ["ts"] = reply["ts"]?.DeepClone() };
    }

    /// <summary>Slack's two-step upload: get an upload URL, send the bytes there, then complete it into the thread.</summary>
    private async Task<JsonObject> UploadFileAsync(ToolContext context, UploadArgs args, CancellationToken cancellationToken)
    {
        var thread = SlackThread.From(context.ThreadKey);
        byte[] bytes;
        if ((args.Content is null) == (args.ContentBase64 is null))
        {
            throw new ToolArgumentException("content", "give exactly one of content (text) and content_base64 (bytes)");
        }

        if (args.ContentBase64 is { } encoded)
        {
            try
            {
                bytes = Convert.FromBase64String(encoded);
            }
            catch (FormatException)
            {
                throw new ToolArgumentException("content_base64", "content_base64 is not valid base64");
            }
        }
        else
        {
            bytes = Encoding.UTF8.GetBytes(args.Content!);
        }

        if (bytes.Length is 0 or > MaxUploadBytes)
        {
            throw new ToolArgumentException(args.Content is null ? "content_base64" : "content", $"a file holds 1 byte to {MaxUploadBytes / (1024 * 1024)} MiB");
        }

        var ticket = await CallAsync(context, HttpMethod.Get,
            $"files.getUploadURLExternal?filename={Uri.EscapeDataString(args.Filename)}&length={bytes.Length.ToString(CultureInfo.InvariantCulture)}", null, cancellationToken);
        var uploadUrl = ticket["upload_url"]?.GetValue<string>() ?? throw Upstream("files.getUploadURLExternal", "no upload_url");
        var fileId = ticket["file_id"]?.GetValue<string>() ?? throw Upstream("files.getUploadURLExternal", "no file_id");

        using (var content = new ByteArrayContent(bytes))
        {
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            using var upload = await context.Upstream.PostAsync(new Uri(uploadUrl), content, cancellationToken);
            if (!upload.IsSuccessStatusCode)
            {
                throw Upstream("file upload", $"HTTP {(int)upload.StatusCode}");
            }
        }

        var file = new JsonObject { ["id"] = fileId, ["title"] = args.Title ?? args.Filename };
        await CallAsync(context, HttpMethod.Post, "files.completeUploadExternal", new JsonObject
        {
            ["files"] = new JsonArray(file),
            ["channel_id"] = thread.Channel,
            ["thread_ts"] = thread.ThreadTs,
            ["initial_comment"] = args.Comment,
        }, cancellationToken);
        return new JsonObject { ["file_id"] = fileId, ["bytes"] = bytes.Length };
    }

    private async Task<JsonObject> CallAsync(ToolContext context, HttpMethod method, string pathAndQuery, JsonObject? body, CancellationToken cancellationToken)
    {
        var slackMethod = pathAndQuery.Split('?')[0];
        using var request = new HttpRequestMessage(method, new Uri(new Uri(_options.Value.ApiBaseUrl.TrimEnd('/') + "/"), pathAndQuery));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", context.Secret(_options.Value.TokenSecret));
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        using var response = await context.Upstream.SendAsync(request, cancellationToken);
        if (response.StatusCode == HttpStatusCode.TooManyRequests)
        {
            var retry = response.Headers.RetryAfter?.Delta?.TotalSeconds ?? 30;
            throw new ToolException(StatusCodes.Status429TooManyRequests, "slack_rate_limited", $"Slack rate-limited {slackMethod}; retry in {retry:0} s");
        }

        JsonObject? reply = null;
        try
        {
            reply = await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken);
        }
        catch (System.Text.Json.JsonException)
        {
            // reported below with the status
        }

        if (reply is null || reply["ok"]?.GetValue<bool>() != true)
        {
            throw Upstream(slackMethod, reply?["error"]?.GetValue<string>() ?? $"HTTP {(int)response.StatusCode}");
        }

        return reply;
    }

    private static ToolException Upstream(string method, string error) =>
        new(StatusCodes.Status502BadGateway, "slack_error", $"Slack {method} failed: {error}");

    internal sealed record HistoryArgs(
        [property: Description("How many messages (1-200, default 50)."), Range(1, 200)] int Limit = 50,
        [property: Description("The next_cursor of a previous call, for the next page.")] string? Cursor = null);

    internal sealed record PostArgs(
        [property: Description("The message, in Slack mrkdwn."), Required, StringLength(40_000, MinimumLength = 1)] string Text);

    internal sealed record UploadArgs(
        [property: Description("The file's name, e.g. report.csv."), Required, StringLength(255, MinimumLength = 1)] string Filename,
        [property: Description("The file's text (UTF-8). Give this or content_base64.")] string? Content = null,
        [property: Description("The file's bytes, base64-encoded. Give this or content.")] string? ContentBase64 = null,
        [property: Description("A title shown in Slack (default: the filename)."), StringLength(255)] string? Title = null,
        [property: Description("A message posted with the file."), StringLength(4000)] string? Comment = null);
}
