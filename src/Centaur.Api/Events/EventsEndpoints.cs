using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Centaur.Api.Auth;
using Centaur.Api.Errors;
using Centaur.Api.Executions;
using Centaur.Api.Threads;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Centaur.Api.Events;

internal static class EventsEndpoints
{
    private const int BatchSize = 500;

    public static RouteGroupBuilder MapEvents(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/agent").WithTags("Events").RequireAuthorization(AuthExtensions.AgentPolicy)
            .AddEndpointFilter<TextInputFilter>();
        group.MapGet("/threads/{threadKey}/events", StreamAsync);
        return group;
    }

    /// <summary>
    /// Replays the thread's events after the cursor, then tails live ones. Each event's SSE id is its stored id, so
    /// a reconnect (after_event_id or Last-Event-ID) continues exactly where the client stopped. When nothing is
    /// queued or running and everything was replayed, the terminal execution_state is sent (again) and the stream
    /// closes, so a late joiner still gets the answer. With execution_id the stream ends at that execution's end.
    /// </summary>
    private static async Task<Results<ServerSentEventsResult<JsonObject>, ProblemHttpResult>> StreamAsync(
        string threadKey, HttpContext context, ThreadStore threads, EventLog log, ThreadTailCache tails, ChangeNotifier notifier, StreamLimiter limiter,
        IOptions<CentaurOptions> options, CancellationToken cancellationToken,
        [FromQuery(Name = "after_event_id")] long? afterEventId = null,
        [FromQuery(Name = "execution_id")] long? executionId = null)
    {
        threadKey = ThreadKey.FromRoute(threadKey);
        if (ThreadKey.Validate(threadKey) is { } keyError)
        {
            return Problems.BadRequest("invalid_thread_key", keyError, "thread_key");
        }

        var cursor = afterEventId;
        if (cursor is null && context.Request.Headers["Last-Event-ID"].ToString() is { Length: > 0 } lastEventId)
        {
            if (!long.TryParse(lastEventId, out var parsed) || parsed < 0)
            {
                return Problems.BadRequest("invalid_cursor", "Last-Event-ID must be an event id", "Last-Event-ID");
            }

            cursor = parsed;
        }

        if (cursor < 0)
        {
            return Problems.BadRequest("invalid_cursor", "after_event_id must be 0 or more", "after_event_id");
        }

        if (!await threads.ExistsAsync(threadKey, cancellationToken))
        {
            return Problems.NotFound("unknown_thread", $"thread {threadKey} does not exist");
        }

        var client = context.ClientName();
        if (!limiter.TryAcquire(client, options.Value.MaxStreamsPerClient))
        {
            return Problems.TooManyRequests("too_many_streams", $"client {client} already holds {options.Value.MaxStreamsPerClient} event streams");
        }

        var heartbeat = TimeSpan.FromSeconds(options.Value.HeartbeatSeconds);
        return TypedResults.ServerSentEvents(
            ProduceAsync(threadKey, cursor ?? 0, executionId, log, tails, notifier, heartbeat, () => limiter.Release(client), cancellationToken));
    }

    private static async IAsyncEnumerable<SseItem<JsonObject>> ProduceAsync(
        string threadKey, long cursor, long? executionId, EventLog log, ThreadTailCache tails, ChangeNotifier notifier, TimeSpan heartbeat,
        Action release, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        try
        {
            // The terminal snapshot can only become due at the start or right after a terminal event went by.
            var checkIdle = true;
            while (!cancellationToken.IsCancellationRequested)
            {
                // Take the wake-up BEFORE reading, so an event committed between the read and the wait still wakes us.
                var changed = notifier.NextThreadChange(threadKey);
                var batch = await tails.ReadAsync(threadKey, cursor, executionId, BatchSize, cancellationToken);
                foreach (var stored in batch)
                {
                    cursor = stored.EventId;
                    yield return Item(stored);
                    if (IsTerminal(stored))
                    {
                        if (executionId is not null)
                        {
                            yield break;
                        }

                        checkIdle = true;
                    }
                }

                if (batch.Count == BatchSize)
                {
                    continue;
                }

                if (checkIdle && await log.TerminalSnapshotAsync(threadKey, executionId, cancellationToken) is { } snapshot)
                {
                    if (batch.Count == 0 || batch[^1].EventId != snapshot.EventId)
                    {
                        yield return Item(snapshot);
                    }

                    yield break;
                }

                checkIdle = false;
                var woke = await Task.WhenAny(changed, Task.Delay(heartbeat, cancellationToken)) == changed;
                if (!woke && !cancellationToken.IsCancellationRequested)
                {
                    yield return new SseItem<JsonObject>([], "heartbeat");
                }
            }
        }
        finally
        {
            release();
        }
    }

    private static bool IsTerminal(StoredEvent stored) =>
        stored.Type == EventTypes.ExecutionState && stored.Data["state"]?.GetValue<string>() is { } state && ExecutionStates.IsTerminal(state);

    private static SseItem<JsonObject> Item(StoredEvent stored) =>
        new(new JsonObject
        {
            ["event_id"] = stored.EventId,
            ["execution_id"] = stored.ExecutionId,
            ["type"] = stored.Type,
            ["data"] = stored.Data.DeepClone(),
            ["created_at"] = stored.CreatedAt,
        }, stored.Type)
        {
            EventId = stored.EventId.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
}
