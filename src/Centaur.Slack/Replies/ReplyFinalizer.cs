using System.Text;
using System.Text.Json;
using Centaur.Slack.Formatting;
using Centaur.Slack.WebApi;
using Microsoft.Extensions.Options;

namespace Centaur.Slack.Replies;

/// <summary>
/// Writes an execution's final answer into its thread exactly once: the messages the stream already posted are
/// edited (Stop button removed), missing parts are posted through ReplyPoster, and the reply is marked delivered.
/// Running it twice changes nothing; a stream that failed is repaired by editing, never by posting again.
/// </summary>
internal sealed class ReplyFinalizer(
    ReplyStore store,
    ReplyPoster poster,
    ThreadNotices notices,
    SlackApiClient slack,
    SlackUpdateBudget budget,
    ReplyCoordinator coordinator,
    IOptions<SlackOptions> options,
    ILogger<ReplyFinalizer> logger)
{
    public async Task<string> FinalizeAsync(long executionId, string threadKey, TerminalInfo terminal, CancellationToken cancellationToken)
    {
        var gate = coordinator.LockFor(executionId);
        await gate.WaitAsync(cancellationToken);
        try
        {
            var reply = await store.GetReplyAsync(executionId, cancellationToken) ?? await AdoptAsync(executionId, threadKey, cancellationToken);
            if (reply.State == "delivered")
            {
                return reply.FinalRef ?? "";
            }

            if (reply.Live is { Mode: "stream", LiveTs: { } streaming } && await FinishStreamAsync(reply, streaming, terminal, cancellationToken) is { } streamed)
            {
                return streamed;
            }

            var parts = MessageSplitter.Split(Compose(executionId, reply.Live, terminal), options.Value.MaxMessageChars);
            var known = await store.PartsAsync(executionId, cancellationToken);
            string? firstTs = null;
            for (var i = 0; i < parts.Count; i++)
            {
                var blocks = i == parts.Count - 1 && terminal.State == "interrupted" ? ReplyPoster.ResumeBlocks(parts[i], executionId) : null;
                var (ts, posted) = await poster.EnsurePartAsync(reply, i, parts[i], blocks, cancellationToken);
                if (!posted)
                {
                    await budget.TakeAsync(cancellationToken);
                    await slack.UpdateAsync(reply.Channel, ts, parts[i], blocks, cancellationToken);
                }

                firstTs ??= ts;
            }

            // The streamed text was longer than the final answer: empty the messages that are left over.
            foreach (var (part, ts) in known.Where(p => p.Key >= parts.Count && p.Value is not null))
            {
                await budget.TakeAsync(cancellationToken);
                await slack.UpdateAsync(reply.Channel, ts!, "_(continued above)_", null, cancellationToken);
                logger.PartEmptied(executionId, part);
            }

            await RemoveWorkingReactionAsync(reply, cancellationToken);
            await TryAsync(() => notices.RemoveControlsAsync(reply, cancellationToken));
            var finalRef = $"{reply.Channel}:{firstTs}";
            await store.MarkDeliveredAsync(executionId, finalRef, cancellationToken);
            logger.Delivered(executionId, terminal.State, parts.Count);
            SlackMetrics.AnswerDelivered(terminal.State);
            return finalRef;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// A native stream is stopped before anything else. When the answer simply continues what was streamed (the
    /// usual case), the rest goes out with chat.stopStream and the streamed Markdown stays as it is; otherwise the
    /// messages are edited like any others. Returns the reference when the stream completed the answer.
    /// </summary>
    private async Task<string?> FinishStreamAsync(ReplyRow reply, string streaming, TerminalInfo terminal, CancellationToken cancellationToken)
    {
        var live = reply.Live;
        var sent = live.Markdown.Length >= live.StreamedChars ? live.Markdown[..live.StreamedChars] : null;
        var answer = string.IsNullOrWhiteSpace(terminal.Result) ? live.Markdown : terminal.Result!;
        var rest = sent is null ? null : terminal.State switch
        {
            "succeeded" when answer.StartsWith(sent, StringComparison.Ordinal) => answer[sent.Length..],
            "cancelled" => live.Markdown[sent.Length..] + "\n\n_Stopped._",
            _ => null,
        };
        try
        {
            if (rest is not null)
            {
                // Send the rest through the stream (rotating messages as needed) before stopping it.
                await poster.StreamAsync(reply, live, sent + rest, options.Value.MaxStreamChars, cancellationToken);
                await store.SaveLiveAsync(reply.ExecutionId, live, cancellationToken);
            }

            await slack.StopStreamAsync(reply.Channel, live.LiveTs ?? streaming, null, null, cancellationToken);
        }
        catch (SlackApiException ex) when (ex.Kind is SlackErrorKind.StreamingUnavailable or SlackErrorKind.MessageGone)
        {
            logger.CosmeticCallFailed(ex.Method, ex.Error);
            return null;
        }

        if (rest is null)
        {
            return null;
        }

        var parts = await store.PartsAsync(reply.ExecutionId, cancellationToken);
        await RemoveWorkingReactionAsync(reply, cancellationToken);
        await TryAsync(() => notices.RemoveControlsAsync(reply, cancellationToken));
        var finalRef = $"{reply.Channel}:{parts.Values.FirstOrDefault(ts => ts is not null) ?? streaming}";
        await store.MarkDeliveredAsync(reply.ExecutionId, finalRef, cancellationToken);
        logger.Delivered(reply.ExecutionId, terminal.State, parts.Count);
        SlackMetrics.AnswerDelivered(terminal.State);
        return finalRef;
    }

    private async Task RemoveWorkingReactionAsync(ReplyRow reply, CancellationToken cancellationToken)
    {
        if (reply.TriggerTs is { } trigger)
        {
            await TryAsync(() => slack.RemoveReactionAsync(reply.Channel, trigger, options.Value.WorkingReaction, cancellationToken));
        }
    }

    /// <summary>An execution on a Slack thread that this adapter never streamed (started elsewhere, or lost before the row).</summary>
    private async Task<ReplyRow> AdoptAsync(long executionId, string threadKey, CancellationToken cancellationToken)
    {
        var (channel, threadTs) = ThreadKeys.Parse(threadKey);
        await store.CreateReplyAsync(executionId, threadKey, channel, threadTs, null, null, cancellationToken);
        return await store.GetReplyAsync(executionId, cancellationToken) ?? throw new InvalidOperationException($"reply {executionId} vanished");
    }

    internal static string Compose(long executionId, LiveState live, TerminalInfo terminal)
    {
        var streamed = live.Markdown;
        var answer = string.IsNullOrWhiteSpace(terminal.Result) ? streamed : terminal.Result!;
        switch (terminal.State)
        {
            case "succeeded":
                return MrkdwnConverter.Convert(string.IsNullOrWhiteSpace(answer) ? "_(no answer)_" : answer);
            case "cancelled":
                return (string.IsNullOrWhiteSpace(streamed) ? "" : MrkdwnConverter.Convert(streamed) + "\n\n") + "_Stopped._";
            case "interrupted":
                var text = new StringBuilder();
                if (!string.IsNullOrWhiteSpace(streamed))
                {
                    text.Append(MrkdwnConverter.Convert(streamed)).Append("\n\n");
                }

                text.Append(":warning: The sandbox had to be replaced in the middle of this turn, after these actions had already happened:");
                foreach (var effect in Effects(terminal.Effects))
                {
                    text.Append("\n• ").Append(MrkdwnConverter.Escape(effect));
                }

                text.Append("\nPress *Resume* to continue from there.");
                return text.ToString();
            default:
                return $"Sorry, I couldn't finish this one. If you ask for help, mention the reference `{ReferenceId(executionId)}`.";
        }
    }

    public static string ReferenceId(long executionId) => $"E{executionId}";

    private static IEnumerable<string> Effects(JsonElement? effects)
    {
        if (effects is not { ValueKind: JsonValueKind.Array } list)
        {
            yield break;
        }

        foreach (var effect in list.EnumerateArray())
        {
            yield return effect.ValueKind == JsonValueKind.Object
                ? $"{Property(effect, "method")} {Property(effect, "target")}".Trim()
                : effect.ToString();
        }
    }

    private static string Property(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) ? value.ToString() : "";

    private async Task TryAsync(Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (SlackApiException ex)
        {
            logger.CosmeticCallFailed(ex.Method, ex.Error);
        }
    }
}
