using System.Net.Http.Headers;
using System.Text.Json.Nodes;

namespace Centaur.Tests.Infrastructure;

public sealed record ReceivedEvent(long Id, string Type, JsonObject Envelope)
{
    public JsonObject Data => Envelope["data"]!.AsObject();

    public long ExecutionId => Envelope["execution_id"]!.GetValue<long>();

    public string? State => Type == "execution_state" ? Data["state"]?.GetValue<string>() : null;
}

/// <summary>A plain SSE client for the events endpoint, as any client would write one.</summary>
public static class EventStreamReader
{
    /// <summary>
    /// Reads the stream until it closes, <paramref name="stopWhen"/> says so, or the timeout passes. Heartbeats are
    /// skipped. The returned list is in arrival order.
    /// </summary>
    public static async Task<List<ReceivedEvent>> ReadAsync(HttpClient http, string threadKey, long? afterEventId = null,
        long? executionId = null, Func<ReceivedEvent, bool>? stopWhen = null, TimeSpan? timeout = null, string? lastEventIdHeader = null)
    {
        var query = new List<string>();
        if (afterEventId is { } after)
        {
            query.Add($"after_event_id={after}");
        }

        if (executionId is { } execution)
        {
            query.Add($"execution_id={execution}");
        }

        var url = $"/agent/threads/{Uri.EscapeDataString(threadKey)}/events" + (query.Count > 0 ? "?" + string.Join('&', query) : "");
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (lastEventIdHeader is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventIdHeader);
        }

        var events = new List<ReceivedEvent>();
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            response.EnsureSuccessStatusCode();
            await using var stream = await response.Content.ReadAsStreamAsync(cts.Token);
            using var reader = new StreamReader(stream);
            string? id = null, type = null;
            var data = new System.Text.StringBuilder();
            while (await reader.ReadLineAsync(cts.Token) is { } line)
            {
                if (line.Length == 0)
                {
                    if (data.Length > 0 && type != "heartbeat" && id is not null)
                    {
                        var received = new ReceivedEvent(long.Parse(id), type ?? "message", JsonNode.Parse(data.ToString())!.AsObject());
                        events.Add(received);
                        if (stopWhen?.Invoke(received) == true)
                        {
                            return events;
                        }
                    }

                    id = type = null;
                    data.Clear();
                    continue;
                }

                if (line.StartsWith("id: ", StringComparison.Ordinal))
                {
                    id = line[4..];
                }
                else if (line.StartsWith("event: ", StringComparison.Ordinal))
                {
                    type = line[7..];
                }
                else if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    data.Append(line[6..]);
                }
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            // the caller's timeout: return what arrived
        }

        return events;
    }
}
