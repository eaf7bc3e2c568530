using System.Text.Json;
using System.Threading.Channels;
using Centaur.Slack.ControlPlane;
using Centaur.Slack.Formatting;
using Centaur.Slack.WebApi;
using Microsoft.Extensions.Options;

namespace Centaur.Slack.Replies;

/// <summary>
/// Renders one execution's SSE stream into its Slack thread while it runs: output is buffered for FirstFlushDelay,
/// then one message is edited (at most once per MinEditInterval, within the shared workspace budget) and a new
/// message is started before the text passes Slack's limit. The cursor and the text are saved with every edit, so
/// a restarted adapter continues the same message. The final answer is the outbox's job (ReplyFinalizer).
/// </summary>
internal sealed class ReplyStreamer(
    CentaurApiClient api,
    ReplyStore store,
    ReplyPoster poster,
    ThreadNotices notices,
    SlackApiClient slack,
    SlackUpdateBudget budget,
    ReplyFinalizer finalizer,
    ReplyCoordinator coordinator,
    Inbound.TurnStarter turns,
    DeliverySignal delivery,
    IOptions<SlackOptions> options,
    TimeProvider time,
    ILogger<ReplyStreamer> logger)
{
    private static readonly string[] s_terminalStates = ["succeeded", "failed", "cancelled", "interrupted"];

    public async Task RunAsync(long executionId, CancellationToken cancellationToken)
    {
        var reply = await store.GetReplyAsync(executionId, cancellationToken);
        if (reply is null || reply.State == "delivered")
        {
            return;
        }

        using var scope = logger.BeginScope(new Dictionary<string, object> { ["ExecutionId"] = executionId, ["ThreadKey"] = reply.ThreadKey });
        var live = reply.Live;
        var settings = options.Value;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var events = Channel.CreateUnbounded<AgentEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var reader = ReadEventsAsync(reply, live.Cursor, events.Writer, stop.Token);

        var outputSince = live.LiveTs is null ? (DateTimeOffset?)null : DateTimeOffset.MinValue;
        var lastEdit = DateTimeOffset.MinValue;
        var dirty = false;
        TerminalInfo? terminal = null;
        try
        {
            while (terminal is null)
            {
                var due = !dirty ? (DateTimeOffset?)null
                    : live.LiveTs is null ? outputSince!.Value + settings.FirstFlushDelay
                    : lastEdit + settings.MinEditInterval;
                var next = await ReadAsync(events.Reader, due is null ? TimeSpan.FromSeconds(30) : Max(due.Value - time.GetUtcNow(), TimeSpan.Zero), stop.Token);
                if (next.Completed)
                {
                    break;
                }

                if (next.Event is { Type: "egress_blocked" } blocked && blocked.Text("host") is { Length: > 0 } host)
                {
                    await TryNoticeAsync(() => notices.EgressBlockedAsync(reply, host, stop.Token));
                }

                if (next.Event is { } agentEvent)
                {
                    live.Cursor = agentEvent.EventId;
                    terminal = Apply(live, agentEvent);
                    if (terminal is null && Changed(agentEvent))
                    {
                        dirty = true;
                        outputSince ??= time.GetUtcNow();
                    }
                }

                var now = time.GetUtcNow();
                if (terminal is null && dirty && due is { } at && now >= at && await FlushAsync(reply, live, stop.Token))
                {
                    dirty = false;
                    lastEdit = now;
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            await reader;
        }

        if (terminal is null)
        {
            return;
        }

        // Save what the stream produced; the final message is then written from the outbox row.
        await store.SaveLiveAsync(executionId, live, cancellationToken);
        await store.SetStateAsync(executionId, "finishing", cancellationToken);
        coordinator.RecordTerminal(executionId, terminal);
        if (terminal.State == "failed")
        {
            logger.ExecutionFailed(executionId, terminal.Error ?? "(no detail)");
        }

        if (coordinator.OutboxSupported)
        {
            delivery.Wake();
        }
        else
        {
            await finalizer.FinalizeAsync(executionId, reply.ThreadKey, terminal, cancellationToken);
            coordinator.Forget(executionId);
            await turns.ContinueThreadAsync(reply.ThreadKey, cancellationToken);
        }
    }

    private static bool Changed(AgentEvent agentEvent) => agentEvent.Type is "assistant_delta" or "assistant_message" or "tool_use" or "status";

    /// <summary>Folds one event into the live state; returns the terminal details when the execution ended.</summary>
    internal static TerminalInfo? Apply(LiveState live, AgentEvent agentEvent)
    {
        switch (agentEvent.Type)
        {
            case "assistant_delta":
                live.Pending += agentEvent.Text("text") ?? "";
                break;
            case "assistant_message":
                var text = agentEvent.Text("text") ?? "";
                live.Committed = live.Committed.Length == 0 ? text : text.Length == 0 ? live.Committed : live.Committed + "\n\n" + text;
                live.Pending = "";
                break;
            case "tool_use":
                live.Activity = ":wrench: " + ToolSummary(agentEvent.Data);
                break;
            case "status":
                live.Activity = ":hourglass_flowing_sand: " + MrkdwnConverter.Escape(agentEvent.Text("text") ?? "");
                break;
            case "execution_state":
                var state = agentEvent.Text("state");
                if (state is not null && s_terminalStates.Contains(state))
                {
                    var error = agentEvent.Data.TryGetProperty("error", out var e) ? e.ToString() : null;
                    JsonElement? effects = agentEvent.Data.TryGetProperty("effects", out var fx) ? fx.Clone() : null;
                    return new TerminalInfo(state, agentEvent.Text("result"), error, effects);
                }

                break;
        }

        return null;
    }

    private static string ToolSummary(JsonElement data)
    {
        var name = data.TryGetProperty("name", out var n) ? n.GetString() ?? "tool" : "tool";
        var summary = "`" + MrkdwnConverter.Escape(name) + "`";
        if (data.TryGetProperty("input", out var input) && input.ValueKind == JsonValueKind.Object)
        {
            foreach (var key in new[] { "command", "file_path", "path", "pattern", "url", "query" })
            {
                if (input.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.String)
                {
                    var argument = value.GetString()!.ReplaceLineEndings(" ");
                    summary += " " + MrkdwnConverter.Escape(argument.Length > 80 ? argument[..80] + "…" : argument);
                    break;
                }
            }
        }

        return summary;
    }

    private async Task<bool> FlushAsync(ReplyRow reply, LiveState live, CancellationToken cancellationToken)
    {
        var gate = coordinator.LockFor(reply.ExecutionId);
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (await store.IsDeliveredAsync(reply.ExecutionId, cancellationToken))
            {
                // The outbox got there first; the final message must not get its Stop button back.
                return true;
            }

            var settings = options.Value;
            if (live.Mode == "stream" || (live.LiveTs is null && live.LivePart == 0 && settings.Streaming == StreamingMode.Auto && coordinator.NativeStreamingAvailable))
            {
                if (await FlushStreamAsync(reply, live, cancellationToken))
                {
                    await store.SaveLiveAsync(reply.ExecutionId, live, cancellationToken);
                    return true;
                }
            }

            var parts = MessageSplitter.Split(MrkdwnConverter.Convert(live.Markdown), settings.MaxMessageChars);

            // Text beyond one message: freeze the current message and continue in a new one.
            while (live.LivePart < parts.Count - 1)
            {
                var frozen = parts[live.LivePart];
                var (ts, posted) = live.LiveTs is { } liveTs ? (liveTs, false) : await poster.EnsurePartAsync(reply, live.LivePart, frozen, null, cancellationToken);
                if (!posted)
                {
                    await budget.TakeAsync(cancellationToken);
                    await slack.UpdateAsync(reply.Channel, ts, frozen, null, cancellationToken);
                }

                live.LivePart++;
                live.LiveTs = null;
                await store.SaveLiveAsync(reply.ExecutionId, live, cancellationToken);
            }

            var current = parts[^1];
            var blocks = ReplyPoster.LiveBlocks(current, live.Activity, reply.ExecutionId);
            var fallback = Fallback(current);
            if (live.LiveTs is null)
            {
                var (ts, posted) = await poster.EnsurePartAsync(reply, live.LivePart, fallback, blocks, cancellationToken);
                live.LiveTs = ts;
                if (!posted)
                {
                    await slack.UpdateAsync(reply.Channel, ts, fallback, blocks, cancellationToken);
                }
            }
            else
            {
                if (!budget.TryTake())
                {
                    return false;
                }

                await slack.UpdateAsync(reply.Channel, live.LiveTs, fallback, blocks, cancellationToken);
            }

            await store.SaveLiveAsync(reply.ExecutionId, live, cancellationToken);
            return true;
        }
        catch (SlackApiException ex)
        {
            logger.LiveEditFailed(reply.ExecutionId, ex.Error);
            if (ex.Kind == SlackErrorKind.MessageGone)
            {
                live.LiveTs = null;
                live.LivePart++;
            }

            return false;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// Slack's native streaming: the Markdown goes out as-is through chat.startStream/appendStream, and a new stream
    /// message is started before one passes MaxStreamChars. false: streaming is unavailable here (fall back to edits).
    /// </summary>
    private async Task<bool> FlushStreamAsync(ReplyRow reply, LiveState live, CancellationToken cancellationToken)
    {
        var text = live.Markdown;
        var budget = options.Value.MaxStreamChars;
        if (text.Length == 0 || text.Length < live.StreamedChars)
        {
            // Nothing to stream yet (only tool activity), or the text was rewritten: the final answer settles it.
            return true;
        }

        try
        {
            await poster.StreamAsync(reply, live, text, budget, cancellationToken);
            if (live.Mode == "stream" && !live.ControlsShown)
            {
                await TryNoticeAsync(() => notices.EnsureControlsAsync(reply, cancellationToken));
                live.ControlsShown = true;
            }

            return true;
        }
        catch (SlackApiException ex) when (ex.Error == "stopped_by_user")
        {
            // Slack's own stop control on a streamed message means the same as our Stop button.
            await api.CancelAsync(reply.ExecutionId, cancellationToken);
            logger.StopRequested(reply.ExecutionId);
            return true;
        }
        catch (SlackApiException ex) when (ex.Kind == SlackErrorKind.StreamingUnavailable)
        {
            logger.NativeStreamingUnavailable(ex.Error);
            if (live.Mode == "stream")
            {
                // The stream ended under us (e.g. it expired during a restart): keep editing the same message.
                live.Mode = "update";
            }
            else
            {
                // Never streamed: remember it for the whole process and edit messages instead.
                coordinator.NativeStreamingAvailable = false;
                live.LiveTs = null;
            }

            return false;
        }
    }

    /// <summary>Notices are extras: a Slack refusal is logged, never allowed to stop the answer.</summary>
    private async Task TryNoticeAsync(Func<Task> post)
    {
        try
        {
            await post();
        }
        catch (SlackApiException ex)
        {
            logger.CosmeticCallFailed(ex.Method, ex.Error);
        }
    }

    private static string Fallback(string text) => text.Length == 0 ? "…" : text.Length > 300 ? text[..300] + "…" : text;

    private async Task ReadEventsAsync(ReplyRow reply, long cursor, ChannelWriter<AgentEvent> writer, CancellationToken cancellationToken)
    {
        for (var attempt = 0; !cancellationToken.IsCancellationRequested; attempt++)
        {
            try
            {
                await foreach (var agentEvent in api.StreamEventsAsync(reply.ThreadKey, reply.ExecutionId, cursor, cancellationToken))
                {
                    if (agentEvent.ExecutionId != reply.ExecutionId || agentEvent.EventId <= cursor)
                    {
                        continue;
                    }

                    cursor = agentEvent.EventId;
                    attempt = 0;
                    await writer.WriteAsync(agentEvent, cancellationToken);
                    if (agentEvent.Type == "execution_state" && s_terminalStates.Contains(agentEvent.Text("state")))
                    {
                        writer.TryComplete();
                        return;
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is HttpRequestException or CentaurApiException or IOException or JsonException)
            {
                logger.StreamReconnect(reply.ExecutionId, cursor, ex.Message);
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(30_000, 250 * Math.Pow(2, Math.Min(attempt, 7)))), time, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        writer.TryComplete();
    }

    private static async Task<(AgentEvent? Event, bool Completed)> ReadAsync(ChannelReader<AgentEvent> reader, TimeSpan wait, CancellationToken cancellationToken)
    {
        if (reader.TryRead(out var ready))
        {
            return (ready, false);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(wait);
        try
        {
            if (!await reader.WaitToReadAsync(timeout.Token))
            {
                return (null, true);
            }

            return reader.TryRead(out var item) ? (item, false) : (null, false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, false);
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
