using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Centaur.Api.Auth;
using Centaur.Api.Events;
using Centaur.Api.Sandboxes;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Centaur.Api.Executions;

/// <summary>
/// Drives one execution: gather the thread's new messages into a turn, store it as the inflight turn, write it to the
/// sandbox, project every line into the event log, and end the execution exactly once. A sandbox that dies mid-turn
/// is replaced and the turn replayed, unless the side-effect ledger shows that something already happened.
/// </summary>
internal sealed partial class TurnDriver(
    NpgsqlDataSource db, EventLog events, ExecutionStore executions, ExecutionFinisher finisher,
    SandboxSessionStore sessions, SandboxManager sandboxes, SandboxTokenIssuer tokens, ChangeNotifier notifier,
    IOptions<CentaurOptions> options, ILogger<TurnDriver> logger)
{
    internal static readonly ActivitySource ActivitySource = new("Centaur.Api.Turns");
    private static readonly TimeSpan s_cancelGrace = TimeSpan.FromSeconds(10);

    public async Task RunAsync(ExecutionResponse execution, bool reclaimed, string owner, CancellationToken leaseLost)
    {
        // Continue the trace of the request that queued the execution (it may have come through another replica).
        var parent = await executions.TraceParentAsync(execution.ExecutionId, leaseLost) is { } traceparent
            && ActivityContext.TryParse(traceparent, null, out var context) ? context : default;
        using var activity = ActivitySource.StartActivity("execution", ActivityKind.Internal, parent);
        activity?.SetTag("centaur.thread_key", execution.ThreadKey);
        activity?.SetTag("centaur.execution_id", execution.ExecutionId);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(leaseLost);
        using var onCancel = notifier.OnCancel(execution.ExecutionId, () => cancel.Cancel());

        var thread = execution.ThreadKey;
        var session = await sessions.GetAsync(thread, leaseLost);
        if (session is null)
        {
            await FinishAsync(execution, owner, new Outcome(ExecutionStates.Failed, Error: Error("thread_missing", "the thread has no session")));
            return;
        }

        if (await executions.IsCancelRequestedAsync(execution.ExecutionId, leaseLost))
        {
            await FinishAsync(execution, owner, new Outcome(ExecutionStates.Cancelled));
            return;
        }

        JsonObject payload;
        string turnId;
        int attempt;
        if (reclaimed && session.InflightExecutionId == execution.ExecutionId && session.InflightTurnId is { } inflight && session.InflightPayload is { } stored)
        {
            // A worker stopped driving this turn: an API restart, or this very process lost its lease when Postgres
            // went away. In the second case the sandbox is still running (or has finished) the interrupted attempt;
            // sending the turn to it again would give its harness the prompt twice and mix the two attempts' output.
            // So it is stopped like a dead one, before the ledger is read (it can record no effect after that).
            turnId = inflight;
            payload = stored;
            attempt = session.Attempts;
            if (session.SandboxId is { } orphan)
            {
                await sandboxes.MarkDeadAsync(thread, orphan, leaseLost);
            }

            var effects = await finisher.EffectsAsync(thread, turnId, leaseLost);
            if (effects.Count > 0)
            {
                await FinishInterruptedAsync(execution, owner, effects);
                return;
            }

            attempt = await sessions.IncrementAttemptsAsync(thread, leaseLost);
            if (attempt > options.Value.MaxTurnAttempts)
            {
                await FailAfterCapAsync(execution, owner, attempt - 1);
                return;
            }

            SandboxMetrics.Replays.Add(1);
            await StatusAsync(execution, $"replaying the turn after a restart (attempt {attempt})", attempt);
        }
        else
        {
            var text = await TakeMessagesAsync(execution, leaseLost);
            if (text is null)
            {
                var folded = await LastConsumerAsync(thread, execution.ExecutionId, leaseLost);
                await FinishAsync(execution, owner, new Outcome(ExecutionStates.Succeeded, FoldedInto: folded ?? 0));
                return;
            }

            turnId = "turn-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
            payload = new JsonObject { ["type"] = "turn.start", ["turn_id"] = turnId, ["text"] = text.Value.Text, ["attachments"] = text.Value.Attachments };
            await sessions.StoreInflightAsync(thread, execution.ExecutionId, turnId, payload, leaseLost);
            await executions.SetTurnAsync(execution.ExecutionId, turnId, leaseLost);
            attempt = 1;
        }

        if (!reclaimed)
        {
            await events.AppendAsync(thread, execution.ExecutionId, EventTypes.ExecutionState,
                new JsonObject { ["state"] = ExecutionStates.Running, ["turn_id"] = turnId }, null, leaseLost);
        }

        while (true)
        {
            var result = await DriveOnceAsync(execution, turnId, payload, cancel.Token, leaseLost);
            if (leaseLost.IsCancellationRequested)
            {
                return;
            }

            switch (result)
            {
                case TurnResult.Done done:
                    await FinishAsync(execution, owner, new Outcome(
                        done.IsError ? ExecutionStates.Failed : ExecutionStates.Succeeded, done.Result,
                        done.IsError ? Error("harness_error", done.Result ?? "the harness reported an error") : null, done.Usage));
                    return;
                case TurnResult.Cancelled cancelled:
                    await FinishAsync(execution, owner, new Outcome(ExecutionStates.Cancelled, cancelled.PartialResult));
                    return;
                case TurnResult.TimedOut:
                    await events.AppendAsync(thread, execution.ExecutionId, EventTypes.Error,
                        new JsonObject { ["message"] = $"the turn produced no result within {options.Value.TurnTimeoutSeconds} s", ["code"] = "turn_timeout" }, null, leaseLost);
                    await FinishAsync(execution, owner, new Outcome(ExecutionStates.Failed, Error: Error("turn_timeout", "the turn timed out")));
                    return;
                case TurnResult.SandboxDied died:
                    var effects = await finisher.EffectsAsync(thread, turnId, leaseLost);
                    if (effects.Count > 0)
                    {
                        await FinishInterruptedAsync(execution, owner, effects);
                        return;
                    }

                    attempt = await sessions.IncrementAttemptsAsync(thread, leaseLost);
                    if (attempt > options.Value.MaxTurnAttempts)
                    {
                        await FailAfterCapAsync(execution, owner, attempt - 1);
                        return;
                    }

                    SandboxMetrics.Replays.Add(1);
                    LogReplaying(logger, thread, turnId, attempt, died.Reason);
                    await StatusAsync(execution, $"the sandbox stopped mid-turn ({died.Reason}); replaying the turn in a new sandbox (attempt {attempt})", attempt);
                    break;
            }
        }
    }

    private async Task<TurnResult> DriveOnceAsync(ExecutionResponse execution, string turnId, JsonObject payload, CancellationToken cancel, CancellationToken leaseLost)
    {
        var thread = execution.ThreadKey;
        SandboxConnection connection;
        try
        {
            connection = await sandboxes.GetOrSpawnAsync(thread, text => StatusAsync(execution, text, null), leaseLost);
        }
        catch (Exception ex) when (ex is SandboxStartException or SandboxGoneException or IOException)
        {
            return new TurnResult.SandboxDied($"could not start: {ex.Message}");
        }

        connection.DrainStale();
        var line = payload.DeepClone().AsObject();
        line["sandbox_token"] = tokens.Issue(thread, connection.SandboxId);
        if (Activity.Current is { Id: { } traceparent })
        {
            // The sandbox gets the turn's trace context, and the proxy finds it by thread for the sandbox's calls.
            line["traceparent"] = traceparent;
            await executions.SetTurnTraceAsync(execution.ExecutionId, traceparent, leaseLost);
        }

        try
        {
            await connection.Wire.SendAsync(line, leaseLost);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
            await sandboxes.MarkDeadAsync(thread, connection.SandboxId, CancellationToken.None);
            return new TurnResult.SandboxDied("its stdin is closed");
        }

        await sessions.SetStateAsync(thread, "running", leaseLost);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(options.Value.TurnTimeoutSeconds));
        using var both = CancellationTokenSource.CreateLinkedTokenSource(cancel, timeout.Token);
        var text = new StringBuilder();
        string? result = null;
        JsonObject? usage = null;
        var cancelSent = false;
        var started = Stopwatch.GetTimestamp();
        var firstOutput = true;
        var cancelDeadline = CancellationToken.None;
        while (true)
        {
            JsonObject? next;
            try
            {
                var token = cancelSent ? cancelDeadline : both.Token;
                next = await connection.Lines.WaitToReadAsync(token) && connection.Lines.TryRead(out var read) ? read : null;
                if (next is null && !connection.Lines.Completion.IsCompleted)
                {
                    continue;
                }
            }
            catch (OperationCanceledException) when (leaseLost.IsCancellationRequested)
            {
                return new TurnResult.Cancelled(null);
            }
            catch (OperationCanceledException) when (!cancelSent && (cancel.IsCancellationRequested || timeout.IsCancellationRequested))
            {
                // Ask the harness to stop; give it a moment to finish cleanly, then stop the sandbox.
                cancelSent = true;
                var grace = new CancellationTokenSource(s_cancelGrace);
                cancelDeadline = grace.Token;
                try
                {
                    await connection.Wire.SendAsync(new JsonObject { ["type"] = "turn.cancel", ["turn_id"] = turnId }, leaseLost);
                }
                catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
                {
                    // it is going away anyway
                }

                continue;
            }
            catch (OperationCanceledException) when (cancelSent)
            {
                await sandboxes.MarkDeadAsync(thread, connection.SandboxId, CancellationToken.None);
                return timeout.IsCancellationRequested && !cancel.IsCancellationRequested ? new TurnResult.TimedOut() : new TurnResult.Cancelled(Partial(text));
            }

            if (next is null)
            {
                await sandboxes.MarkDeadAsync(thread, connection.SandboxId, CancellationToken.None);
                if (cancelSent)
                {
                    return timeout.IsCancellationRequested && !cancel.IsCancellationRequested ? new TurnResult.TimedOut() : new TurnResult.Cancelled(Partial(text));
                }

                return new TurnResult.SandboxDied("its process exited");
            }

            var projection = EventProjector.Project(next);
            foreach (var (type, data) in projection.Events)
            {
                await events.AppendAsync(thread, execution.ExecutionId, type, data, next, leaseLost);
                if (firstOutput && type is EventTypes.AssistantDelta or EventTypes.AssistantMessage)
                {
                    firstOutput = false;
                    ExecutionMetrics.TimeToFirstToken.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
                }

                if (type == EventTypes.AssistantMessage)
                {
                    text.Append(data["text"]?.GetValue<string>());
                }
            }

            if (projection.HarnessSessionId is { } harnessSession)
            {
                await sessions.SetHarnessSessionAsync(thread, harnessSession, leaseLost);
            }

            result = projection.Result ?? result;
            usage = projection.Usage ?? usage;
            if (projection.TurnDone && IsThisTurn(next, turnId))
            {
                if (cancelSent)
                {
                    return timeout.IsCancellationRequested && !cancel.IsCancellationRequested ? new TurnResult.TimedOut() : new TurnResult.Cancelled(result ?? Partial(text));
                }

                ExecutionMetrics.TurnDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
                return new TurnResult.Done(projection.Result ?? result ?? Partial(text), projection.IsError, usage);
            }
        }
    }

    private static bool IsThisTurn(JsonObject line, string turnId) =>
        line["turn_id"] is null || line["turn_id"]!.ToString() == turnId;

    private static string? Partial(StringBuilder text) => text.Length > 0 ? text.ToString() : null;

    /// <summary>Marks the thread's unconsumed messages as this execution's and joins them into the turn's text.</summary>
    private async Task<(string Text, JsonArray Attachments)?> TakeMessagesAsync(ExecutionResponse execution, CancellationToken cancellationToken)
    {
        const string Sql = """
            UPDATE agent_message_requests SET execution_id = @id
            WHERE thread_key = @thread_key AND execution_id IS NULL
            RETURNING id, author, text, attachments::text
            """;
        await using var command = db.CreateCommand(Sql);
        command.Parameters.AddWithValue("id", execution.ExecutionId);
        command.Parameters.AddWithValue("thread_key", execution.ThreadKey);
        var messages = new List<(long Id, string Author, string Text, JsonArray Attachments)>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                messages.Add((reader.GetInt64(0), reader.GetString(1), reader.GetString(2), JsonNode.Parse(reader.GetString(3)) as JsonArray ?? []));
            }
        }

        var resume = execution.ResumeOf is { } previous ? await ResumePreambleAsync(previous, cancellationToken) : null;
        if (messages.Count == 0 && resume is null)
        {
            return null;
        }

        messages.Sort((a, b) => a.Id.CompareTo(b.Id));
        var text = new StringBuilder(resume);
        foreach (var message in messages)
        {
            if (text.Length > 0)
            {
                text.Append("\n\n");
            }

            text.Append(messages.Count > 1 ? $"{message.Author}: {message.Text}" : message.Text);
        }

        return (text.ToString(), new JsonArray([.. messages.SelectMany(m => m.Attachments).Select(a => a?.DeepClone())]));
    }

    private async Task<string?> ResumePreambleAsync(long previousExecutionId, CancellationToken cancellationToken)
    {
        var previous = await executions.GetAsync(previousExecutionId, cancellationToken);
        if (previous?.TurnId is null)
        {
            return null;
        }

        var effects = await finisher.EffectsAsync(previous.ThreadKey, previous.TurnId, cancellationToken);
        var text = new StringBuilder("Your previous turn was interrupted because its sandbox stopped. ");
        text.Append(effects.Count == 0 ? "Nothing had happened outside the sandbox yet." : "These actions had already happened and must not be repeated blindly:");
        foreach (var effect in effects)
        {
            text.Append($"\n- {effect.Source}: {effect.Method} {effect.Target} at {effect.At:O}");
        }

        text.Append("\nCheck the current state, then continue the task.");
        return text.ToString();
    }

    private async Task<long?> LastConsumerAsync(string threadKey, long executionId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("""
            SELECT max(execution_id) FROM agent_message_requests WHERE thread_key = @thread_key AND execution_id < @id
            """);
        command.Parameters.AddWithValue("thread_key", threadKey);
        command.Parameters.AddWithValue("id", executionId);
        return await command.ExecuteScalarAsync(cancellationToken) as long?;
    }

    private Task StatusAsync(ExecutionResponse execution, string text, int? attempt)
    {
        var data = new JsonObject { ["text"] = text };
        if (attempt is { } n)
        {
            // Clients drop the partial answer of the failed attempt when they see a replay.
            data["replay"] = true;
            data["attempt"] = n;
        }

        return events.AppendAsync(execution.ThreadKey, execution.ExecutionId, EventTypes.Status, data, null, CancellationToken.None);
    }

    private async Task FinishInterruptedAsync(ExecutionResponse execution, string owner, IReadOnlyList<SideEffect> effects)
    {
        await FinishAsync(execution, owner, new Outcome(ExecutionStates.Interrupted,
            Error: Error("interrupted_after_side_effects",
                $"the sandbox stopped mid-turn after {effects.Count} side effect(s); the turn was not replayed. POST /agent/executions/{execution.ExecutionId}/resume continues it."),
            Effects: effects));
    }

    private async Task FailAfterCapAsync(ExecutionResponse execution, string owner, int attempts)
    {
        var message = $"the sandbox died {attempts} time(s) during this turn; giving up after {options.Value.MaxTurnAttempts} attempts";
        await events.AppendAsync(execution.ThreadKey, execution.ExecutionId, EventTypes.Error,
            new JsonObject { ["message"] = message, ["code"] = "replay_limit" }, null, CancellationToken.None);
        await FinishAsync(execution, owner, new Outcome(ExecutionStates.Failed, Error: Error("replay_limit", message)));
    }

    private async Task FinishAsync(ExecutionResponse execution, string owner, Outcome outcome)
    {
        if (await finisher.FinishAsync(execution, owner, outcome, CancellationToken.None))
        {
            ExecutionMetrics.Finished.Add(1, new KeyValuePair<string, object?>("state", outcome.State));
            LogFinished(logger, execution.ExecutionId, outcome.State);
        }
    }

    private static JsonObject Error(string code, string message) => new() { ["code"] = code, ["message"] = message };

    private abstract record TurnResult
    {
        public sealed record Done(string? Result, bool IsError, JsonObject? Usage) : TurnResult;

        public sealed record Cancelled(string? PartialResult) : TurnResult;

        public sealed record TimedOut : TurnResult;

        public sealed record SandboxDied(string Reason) : TurnResult;
    }

    [LoggerMessage(1601, LogLevel.Warning, "Thread {ThreadKey}: sandbox died during {TurnId} ({Reason}); replaying, attempt {Attempt}")]
    private static partial void LogReplaying(ILogger logger, string threadKey, string turnId, int attempt, string reason);

    [LoggerMessage(1602, LogLevel.Information, "Execution {ExecutionId} finished: {State}")]
    private static partial void LogFinished(ILogger logger, long executionId, string state);
}
