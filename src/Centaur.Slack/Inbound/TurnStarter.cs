using System.Text;
using Centaur.Slack.ControlPlane;
using Centaur.Slack.Replies;
using Centaur.Slack.WebApi;
using Microsoft.Extensions.Options;

namespace Centaur.Slack.Inbound;

/// <summary>
/// A Slack message that asks for a turn → spawn → message → execute on Centaur.Api. Every call is idempotent on the
/// message's own key (slack:&lt;channel&gt;:&lt;ts&gt;), so a retried delivery or the same message seen as app_mention and
/// message.* makes one turn. A message that arrives while a turn runs is folded into the next one.
/// </summary>
internal sealed class TurnStarter(
    CentaurApiClient api,
    SlackApiClient slack,
    ReplyStore store,
    ReplyCoordinator coordinator,
    BotIdentity bot,
    IOptions<SlackOptions> options,
    ILogger<TurnStarter> logger)
{
    private const int MaxContextChars = 8000;

    public async Task<string> StartAsync(TurnRequest turn, CancellationToken cancellationToken)
    {
        var threadKey = ThreadKeys.For(turn.Channel, turn.ThreadTs);
        var clientMessageId = ThreadKeys.ClientMessageId(turn.Channel, turn.Ts);
        await store.RecordTurnAsync(clientMessageId, threadKey, turn.Channel, turn.Ts, turn.User, cancellationToken);
        if (await store.TurnExecutionAsync(clientMessageId, cancellationToken) is { } existing)
        {
            coordinator.EnsureStreaming(existing);
            return "duplicate_turn";
        }

        var text = await WithThreadContextAsync(turn, threadKey, cancellationToken);
        await api.SpawnAsync(threadKey, cancellationToken);
        await api.MessageAsync(new MessageRequest(threadKey, text, $"slack:{turn.User}", clientMessageId), cancellationToken);
        var execution = await api.ExecuteAsync(threadKey, clientMessageId, cancellationToken);

        var created = await store.CreateReplyAsync(execution.ExecutionId, threadKey, turn.Channel, turn.ThreadTs, turn.Ts, turn.User, cancellationToken);
        if (!created && await store.GetReplyAsync(execution.ExecutionId, cancellationToken) is { } running && running.TriggerTs != turn.Ts)
        {
            // The API answered with the turn that is already running: this message waits for the next one.
            await store.MarkFoldedAsync(clientMessageId, cancellationToken);
            await TryReactAsync(turn, "eyes", cancellationToken);
            logger.TurnFolded(clientMessageId, execution.ExecutionId);

            // Read the state after marking: a delivery that finished in between has already looked for folded turns.
            if (await store.IsDeliveredAsync(execution.ExecutionId, cancellationToken))
            {
                await ContinueThreadAsync(threadKey, cancellationToken);
            }

            return "folded";
        }

        await store.SetTurnExecutionAsync(threadKey, clientMessageId, execution.ExecutionId, cancellationToken);
        await TryReactAsync(turn, options.Value.WorkingReaction, cancellationToken);
        coordinator.EnsureStreaming(execution.ExecutionId);
        logger.TurnStarted(clientMessageId, execution.ExecutionId);
        return "turn";
    }

    /// <summary>After a reply is delivered: messages that were folded behind it get their own turn now.</summary>
    public async Task ContinueThreadAsync(string threadKey, CancellationToken cancellationToken)
    {
        var waiting = await store.WaitingTurnsAsync(threadKey, cancellationToken);
        if (waiting.Count == 0)
        {
            return;
        }

        var (clientMessageId, ts, user) = waiting[^1];
        var execution = await api.ExecuteAsync(threadKey, clientMessageId, cancellationToken);
        var (channel, threadTs) = ThreadKeys.Parse(threadKey);
        if (await store.CreateReplyAsync(execution.ExecutionId, threadKey, channel, threadTs, ts, user, cancellationToken))
        {
            await store.SetTurnExecutionAsync(threadKey, clientMessageId, execution.ExecutionId, cancellationToken);
            coordinator.EnsureStreaming(execution.ExecutionId);
            logger.TurnStarted(clientMessageId, execution.ExecutionId);
        }
    }

    public async Task<string> StopAsync(string threadKey, CancellationToken cancellationToken)
    {
        if (await store.RunningExecutionAsync(threadKey, cancellationToken) is not { } executionId)
        {
            return "stop_nothing_running";
        }

        await api.CancelAsync(executionId, cancellationToken);
        logger.StopRequested(executionId);
        return "stopped";
    }

    /// <summary>
    /// People talk to each other in a thread without mentioning the bot; those messages reach the agent as context
    /// on its next turn (everything since the bot's previous turn in this thread).
    /// </summary>
    private async Task<string> WithThreadContextAsync(TurnRequest turn, string threadKey, CancellationToken cancellationToken)
    {
        if (turn.ThreadTs == turn.Ts)
        {
            return turn.Text;
        }

        IReadOnlyList<System.Text.Json.Nodes.JsonObject> messages;
        try
        {
            messages = await slack.RepliesAsync(turn.Channel, turn.ThreadTs, null, cancellationToken);
        }
        catch (SlackApiException ex)
        {
            logger.ContextUnavailable(threadKey, ex.Error);
            return turn.Text;
        }

        var identity = await bot.GetAsync(cancellationToken);
        var previous = await store.LastTurnTsAsync(threadKey, turn.Ts, cancellationToken);
        var context = new StringBuilder();
        foreach (var message in messages)
        {
            var ts = (string?)message["ts"];
            if (ts is null || ts == turn.Ts || (previous is not null && string.CompareOrdinal(Pad(ts), Pad(previous)) <= 0)
                || message["bot_id"] is not null || (string?)message["user"] == identity.UserId)
            {
                continue;
            }

            context.Append("<@").Append((string?)message["user"]).Append(">: ").Append(SlackEvents.StripMentions((string?)message["text"] ?? "", identity.UserId)).Append('\n');
        }

        if (context.Length == 0)
        {
            return turn.Text;
        }

        var earlier = context.Length > MaxContextChars ? "…" + context.ToString(context.Length - MaxContextChars, MaxContextChars) : context.ToString();
        return $"Earlier in this Slack thread:\n{earlier}\n{turn.Text}";
    }

    // Slack ts values are "seconds.micros" strings; compare them without parsing into floating point.
    private static string Pad(string ts) => ts.Contains('.', StringComparison.Ordinal) ? ts.PadLeft(20, '0') : ts.PadLeft(13, '0') + ".000000";

    private async Task TryReactAsync(TurnRequest turn, string reaction, CancellationToken cancellationToken)
    {
        try
        {
            await slack.AddReactionAsync(turn.Channel, turn.Ts, reaction, cancellationToken);
        }
        catch (SlackApiException ex)
        {
            logger.CosmeticCallFailed(ex.Method, ex.Error);
        }
    }
}

/// <summary>A Slack message that asks the agent for a turn.</summary>
internal sealed record TurnRequest(string Channel, string ThreadTs, string Ts, string User, string Text);
