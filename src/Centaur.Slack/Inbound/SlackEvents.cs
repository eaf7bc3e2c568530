using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Centaur.Slack.ControlPlane;
using Centaur.Slack.Replies;
using Centaur.Slack.WebApi;
using Microsoft.Extensions.Options;

namespace Centaur.Slack.Inbound;

/// <summary>
/// What an inbox item means, the same for both transports: a mention or a DM starts or continues the thread's
/// conversation ("stop" cancels), the Stop and Resume buttons act on their execution, "Allow &lt;host&gt;" goes to
/// EgressAllowance, /centaur opens a thread.
/// Bots (including ourselves), hidden messages and most message subtypes are dropped.
/// </summary>
internal sealed partial class SlackEvents(
    TurnStarter turns,
    CentaurApiClient api,
    SlackApiClient slack,
    ReplyStore store,
    ReplyCoordinator coordinator,
    EgressAllowance egress,
    BotIdentity bot,
    IOptions<SlackOptions> options,
    ILogger<SlackEvents> logger)
{
    public async Task<string> HandleAsync(InboxItem item, CancellationToken cancellationToken)
    {
        if (JsonNode.Parse(item.PayloadJson) is not JsonObject payload)
        {
            return "ignored:not_an_object";
        }

        return item.Kind switch
        {
            InboxKind.Event => await HandleEventAsync(payload, cancellationToken),
            InboxKind.Interactive => await HandleInteractiveAsync(payload, cancellationToken),
            _ => await HandleCommandAsync(payload, cancellationToken),
        };
    }

    private async Task<string> HandleEventAsync(JsonObject payload, CancellationToken cancellationToken)
    {
        if (payload["event"] is not JsonObject slackEvent)
        {
            return "ignored:no_event";
        }

        var type = (string?)slackEvent["type"];
        if (type is not ("app_mention" or "message"))
        {
            return $"ignored:{type}";
        }

        var identity = await bot.GetAsync(cancellationToken);
        if (IgnoreReason(slackEvent, identity) is { } reason)
        {
            return $"ignored:{reason}";
        }

        var channel = (string)slackEvent["channel"]!;
        var ts = (string)slackEvent["ts"]!;
        var threadTs = (string?)slackEvent["thread_ts"] ?? ts;
        var user = (string)slackEvent["user"]!;
        var isDirect = (string?)slackEvent["channel_type"] == "im" || channel.StartsWith('D');
        if (type == "message" && !isDirect)
        {
            // Channel messages are covered by app_mention when they mention us; the rest is people talking to each
            // other, read as context (conversations.replies) on the next turn.
            return "ignored:channel_message";
        }

        var text = StripMentions((string?)slackEvent["text"] ?? "", identity.UserId);
        var threadKey = ThreadKeys.For(channel, threadTs);
        if (string.Equals(text, "stop", StringComparison.OrdinalIgnoreCase))
        {
            return await turns.StopAsync(threadKey, cancellationToken);
        }

        if (text.Length > options.Value.MaxInboundChars)
        {
            await slack.PostMessageAsync(new SlackMessage(channel, threadTs,
                $"Sorry, that message is too long for me ({text.Length:N0} characters; the limit is {options.Value.MaxInboundChars:N0}). Could you attach it as a file or shorten it?"), cancellationToken);
            return "refused:too_long";
        }

        if (text.Length == 0)
        {
            return "ignored:empty";
        }

        return await turns.StartAsync(new TurnRequest(channel, threadTs, ts, user, text), cancellationToken);
    }

    /// <summary>Bolt's ignoreSelf and more: any bot (no bot loops), our own user, hidden and system subtypes.</summary>
    internal static string? IgnoreReason(JsonObject slackEvent, AuthIdentity identity)
    {
        if (slackEvent["bot_id"] is not null || (string?)slackEvent["subtype"] == "bot_message")
        {
            return "bot";
        }

        if ((string?)slackEvent["user"] is not { Length: > 0 } user)
        {
            return "no_user";
        }

        if (user == identity.UserId)
        {
            return "self";
        }

        if ((bool?)slackEvent["hidden"] == true)
        {
            return "hidden";
        }

        if ((string?)slackEvent["subtype"] is { } subtype && subtype is not ("file_share" or "thread_broadcast"))
        {
            return $"subtype_{subtype}";
        }

        return slackEvent["channel"] is null || slackEvent["ts"] is null ? "no_channel" : null;
    }

    public static string StripMentions(string text, string botUserId) =>
        Regex.Replace(text, $@"<@{Regex.Escape(botUserId)}(\|[^>]*)?>", "", RegexOptions.None, TimeSpan.FromSeconds(1)).Trim();

    private async Task<string> HandleInteractiveAsync(JsonObject payload, CancellationToken cancellationToken)
    {
        if ((string?)payload["type"] != "block_actions")
        {
            return $"ignored:{(string?)payload["type"]}";
        }

        var outcome = "ignored:no_action";
        foreach (var action in payload["actions"]?.AsArray().OfType<JsonObject>() ?? [])
        {
            if ((string?)action["action_id"] == ThreadNotices.AllowEgressAction)
            {
                outcome = await egress.HandleAsync(payload, action, cancellationToken);
                continue;
            }

            if (!long.TryParse((string?)action["value"], NumberStyles.None, CultureInfo.InvariantCulture, out var executionId))
            {
                continue;
            }

            switch ((string?)action["action_id"])
            {
                case ReplyPoster.StopAction:
                    await api.CancelAsync(executionId, cancellationToken);
                    logger.StopRequested(executionId);
                    outcome = "stopped";
                    break;
                case ReplyPoster.ResumeAction:
                    outcome = await ResumeAsync(executionId, cancellationToken);
                    break;
            }
        }

        return outcome;
    }

    private async Task<string> ResumeAsync(long executionId, CancellationToken cancellationToken)
    {
        if (await store.GetReplyAsync(executionId, cancellationToken) is not { } reply)
        {
            return "ignored:unknown_execution";
        }

        var resumed = await api.ResumeAsync(executionId, cancellationToken);
        await store.CreateReplyAsync(resumed.ExecutionId, reply.ThreadKey, reply.Channel, reply.ThreadTs, null, reply.RecipientUser, cancellationToken);
        coordinator.EnsureStreaming(resumed.ExecutionId);
        return "resumed";
    }

    /// <summary>/centaur &lt;question&gt;: a slash command has no message to thread under, so the question is posted first.</summary>
    private async Task<string> HandleCommandAsync(JsonObject payload, CancellationToken cancellationToken)
    {
        var channel = (string?)payload["channel_id"];
        var user = (string?)payload["user_id"];
        var text = ((string?)payload["text"] ?? "").Trim();
        if (channel is null || user is null)
        {
            return "ignored:no_channel";
        }

        if (text.Length == 0 || text.Equals("help", StringComparison.OrdinalIgnoreCase))
        {
            await slack.PostEphemeralAsync(channel, user, "Ask me anything about the team's code: `/centaur why are the billing tests failing?` — or mention me in a thread. `/centaur run <workflow> [input]` starts a workflow.", null, cancellationToken);
            return "help";
        }

        if (text.Equals("run", StringComparison.OrdinalIgnoreCase) || text.StartsWith("run ", StringComparison.OrdinalIgnoreCase))
        {
            // `/centaur run <workflow> [input]` starts a workflow; the API keys the run on trigger_id, so a retried
            // delivery does not start it twice.
            var answer = await api.SlashCommandAsync(new SlashCommand((string?)payload["command"], text, user, (string?)payload["user_name"],
                channel, (string?)payload["team_id"], (string?)payload["trigger_id"]), cancellationToken);
            await slack.PostEphemeralAsync(channel, user, answer.Text, null, cancellationToken);
            return "workflow";
        }

        var ts = await slack.PostMessageAsync(new SlackMessage(channel, null, $"<@{user}> asked: {MrkdwnEscapeKeepingMentions(text)}"), cancellationToken);
        return await turns.StartAsync(new TurnRequest(channel, ts, ts, user, text), cancellationToken);
    }

    private static string MrkdwnEscapeKeepingMentions(string text) => Formatting.MrkdwnConverter.Escape(text);
}
