using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Centaur.Cli.Api;

/// <summary>
/// Reads a thread's events and survives the connection: a dropped or stalled stream is reopened with
/// after_event_id = the last event seen, and an event at or below it is never yielded twice, so a reader sees every
/// event exactly once across API restarts.
/// </summary>
internal sealed class EventStream(CentaurApiClient api, Action<StreamNotice> notify)
{
    /// <summary>The server sends a heartbeat every 15 s on an idle stream; four missed ones mean the stream is dead.</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long the API may stay unreachable before the reader gives up.</summary>
    public TimeSpan GiveUpAfter { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>How often a follower looks again once the server closed an idle thread's stream.</summary>
    public TimeSpan FollowInterval { get; init; } = TimeSpan.FromSeconds(2);

    public long LastEventId { get; private set; }

    /// <summary>
    /// With an execution id: that execution's events up to its terminal state. Without: the thread's events until the
    /// server closes the idle stream, or, with <paramref name="follow"/>, until cancelled.
    /// </summary>
    public async IAsyncEnumerable<StreamEvent> ReadAsync(string threadKey, long? executionId, long afterEventId, bool follow,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        LastEventId = afterEventId;
        var failures = 0;
        var failingSince = (DateTimeOffset?)null;
        while (!cancellationToken.IsCancellationRequested)
        {
            HttpResponseMessage? response = null;
            string? dropReason = null;
            try
            {
                response = await api.OpenEventStreamAsync(threadKey, executionId, LastEventId, cancellationToken);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException || ex is CentaurApiException { IsTransient: true })
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    yield break;
                }

                dropReason = ex.Message;
            }

            var sawTerminal = false;
            if (response is not null)
            {
                if (failures > 0)
                {
                    notify(new StreamNotice.Resumed(LastEventId));
                }

                using (response)
                using (var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    stall.CancelAfter(StallTimeout);
                    var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
                    await using var items = SseParser.Create(stream).EnumerateAsync(stall.Token).GetAsyncEnumerator(stall.Token);
                    while (true)
                    {
                        bool moved;
                        try
                        {
                            moved = await items.MoveNextAsync();
                        }
                        catch (Exception ex) when (ex is IOException or HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
                        {
                            dropReason = stall.IsCancellationRequested ? $"no data for {StallTimeout.TotalSeconds:0} s" : ex.Message;
                            break;
                        }

                        if (!moved)
                        {
                            break;
                        }

                        stall.CancelAfter(StallTimeout);
                        if (Parse(items.Current) is not { } received || received.EventId <= LastEventId)
                        {
                            continue; // a heartbeat, or an event already seen before a reconnect
                        }

                        failures = 0;
                        failingSince = null;
                        LastEventId = received.EventId;
                        yield return received;
                        if (received.IsTerminal && executionId == received.ExecutionId)
                        {
                            sawTerminal = true;
                            break;
                        }
                    }
                }
            }

            if (sawTerminal || cancellationToken.IsCancellationRequested)
            {
                yield break;
            }

            if (dropReason is null)
            {
                // The server closed the stream on purpose: nothing is running on the thread (or the execution ended
                // before we saw it, which the next read settles).
                if (executionId is null && !follow)
                {
                    yield break;
                }

                if (executionId is null)
                {
                    await Task.Delay(FollowInterval, cancellationToken);
                    continue;
                }

                dropReason = "the stream closed before the execution ended";
            }

            failingSince ??= DateTimeOffset.UtcNow;
            if (DateTimeOffset.UtcNow - failingSince > GiveUpAfter)
            {
                throw new CentaurApiException(System.Net.HttpStatusCode.ServiceUnavailable, "stream_lost",
                    $"lost the event stream for {GiveUpAfter.TotalMinutes:0} minutes ({dropReason}); the turn goes on on the server: "
                    + $"centaur events {threadKey} --follow");
            }

            failures++;
            notify(new StreamNotice.Dropped(failures, dropReason, LastEventId));
            await Task.Delay(Api.Backoff.Delay(failures - 1), cancellationToken);
        }
    }

    private static StreamEvent? Parse(SseItem<string> item)
    {
        if (item.EventType == "heartbeat" || string.IsNullOrEmpty(item.Data))
        {
            return null;
        }

        try
        {
            if (JsonNode.Parse(item.Data) is not JsonObject envelope || envelope["event_id"] is null)
            {
                return null;
            }

            return new StreamEvent(
                envelope["event_id"]!.GetValue<long>(),
                envelope["execution_id"]?.GetValue<long>() ?? 0,
                envelope["type"]?.GetValue<string>() ?? item.EventType,
                envelope["data"] as JsonObject ?? [],
                envelope["created_at"]?.GetValue<DateTimeOffset>() ?? DateTimeOffset.UtcNow,
                item.Data);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
