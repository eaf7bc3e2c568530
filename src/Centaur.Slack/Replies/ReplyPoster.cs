using System.Globalization;
using System.Text.Json.Nodes;
using Centaur.Slack.WebApi;

namespace Centaur.Slack.Replies;

/// <summary>
/// Posts the messages of a reply exactly once: each part is recorded (without ts) before chat.postMessage, and a
/// part whose ts was never stored is looked up in the thread by its metadata before anything is posted again.
/// </summary>
internal sealed class ReplyPoster(SlackApiClient slack, ReplyStore store, BotIdentity bot, ILogger<ReplyPoster> logger)
{
    public const string StopAction = "centaur.stop";
    public const string ResumeAction = "centaur.resume";

    /// <summary>The ts of part <paramref name="part"/>; Posted tells whether it was posted just now with this text.</summary>
    public async Task<(string Ts, bool Posted)> EnsurePartAsync(ReplyRow reply, int part, string text, JsonArray? blocks, CancellationToken cancellationToken)
    {
        var parts = await store.PartsAsync(reply.ExecutionId, cancellationToken);
        if (parts.TryGetValue(part, out var known))
        {
            if (known is not null)
            {
                return (known, false);
            }

            if (await FindPostedAsync(reply, part, cancellationToken) is { } found)
            {
                logger.PartRecovered(reply.ExecutionId, part);
                await store.RecordPartPostedAsync(reply.ExecutionId, part, found, cancellationToken);
                return (found, false);
            }
        }

        await store.RecordPartIntentAsync(reply.ExecutionId, part, cancellationToken);
        var ts = await slack.PostMessageAsync(new SlackMessage(reply.Channel, reply.ThreadTs, text, blocks, reply.ExecutionId, part), cancellationToken);
        await store.RecordPartPostedAsync(reply.ExecutionId, part, ts, cancellationToken);
        return (ts, true);
    }

    /// <summary>
    /// Native streaming: sends <paramref name="text"/> beyond what was already streamed with chat.startStream and
    /// chat.appendStream, stopping the stream message and starting a new one before one holds more than
    /// <paramref name="budget"/> characters. The caller saves <paramref name="live"/> afterwards.
    /// </summary>
    public async Task StreamAsync(ReplyRow reply, LiveState live, string text, int budget, CancellationToken cancellationToken)
    {
        while (live.StreamedChars < text.Length || live.LiveTs is null)
        {
            if (live.LiveTs is not null && live.StreamedChars - live.StreamPartStart >= budget)
            {
                await slack.StopStreamAsync(reply.Channel, live.LiveTs, null, null, cancellationToken);
                live.LivePart++;
                live.LiveTs = null;
                live.StreamPartStart = live.StreamedChars;
            }

            var room = budget - (live.StreamedChars - live.StreamPartStart);
            var chunk = text.Substring(live.StreamedChars, Math.Min(room, text.Length - live.StreamedChars));
            if (live.LiveTs is null)
            {
                var identity = await bot.GetAsync(cancellationToken);
                await store.RecordPartIntentAsync(reply.ExecutionId, live.LivePart, cancellationToken);
                live.LiveTs = await slack.StartStreamAsync(reply.Channel, reply.ThreadTs, chunk, reply.RecipientUser, identity.TeamId, cancellationToken);
                await store.RecordPartPostedAsync(reply.ExecutionId, live.LivePart, live.LiveTs, cancellationToken);
                live.Mode = "stream";
            }
            else
            {
                await slack.AppendStreamAsync(reply.Channel, live.LiveTs, chunk, cancellationToken);
            }

            live.StreamedChars += chunk.Length;
        }
    }

    private async Task<string?> FindPostedAsync(ReplyRow reply, int part, CancellationToken cancellationToken)
    {
        var messages = await slack.RepliesAsync(reply.Channel, reply.ThreadTs, null, cancellationToken);
        return messages
            .Where(m => (string?)m["metadata"]?["event_type"] == SlackMessage.MetadataType
                && (long?)m["metadata"]?["event_payload"]?["execution_id"] == reply.ExecutionId
                && (int?)m["metadata"]?["event_payload"]?["part"] == part)
            .Select(m => (string?)m["ts"])
            .FirstOrDefault();
    }

    /// <summary>The live message: the text so far in sections (≤ 3,000 each), the tool activity line, and Stop.</summary>
    public static JsonArray LiveBlocks(string mrkdwn, string? activity, long executionId)
    {
        var blocks = new JsonArray();
        foreach (var section in Formatting.MessageSplitter.Split(mrkdwn.Length == 0 ? "…" : mrkdwn, 2900))
        {
            blocks.Add(Section(section));
        }

        if (!string.IsNullOrEmpty(activity))
        {
            blocks.Add(new JsonObject
            {
                ["type"] = "context",
                ["elements"] = new JsonArray(new JsonObject { ["type"] = "mrkdwn", ["text"] = activity }),
            });
        }

        blocks.Add(StopControls(executionId));
        return blocks;
    }

    /// <summary>The actions block with the Stop button (in the live message, or in its own message beside a stream).</summary>
    public static JsonObject StopControls(long executionId) => Actions(Button(StopAction, "Stop", executionId, "danger"));

    public static JsonArray ResumeBlocks(string mrkdwn, long executionId) =>
        [Section(mrkdwn.Length > 2900 ? mrkdwn[..2900] : mrkdwn), Actions(Button(ResumeAction, "Resume", executionId, "primary"))];

    private static JsonObject Section(string text) =>
        new() { ["type"] = "section", ["text"] = new JsonObject { ["type"] = "mrkdwn", ["text"] = text } };

    private static JsonObject Actions(JsonObject button) =>
        new() { ["type"] = "actions", ["block_id"] = "centaur.controls", ["elements"] = new JsonArray(button) };

    private static JsonObject Button(string actionId, string label, long executionId, string style) => new()
    {
        ["type"] = "button",
        ["action_id"] = actionId,
        ["text"] = new JsonObject { ["type"] = "plain_text", ["text"] = label },
        ["style"] = style,
        ["value"] = executionId.ToString(CultureInfo.InvariantCulture),
    };
}
