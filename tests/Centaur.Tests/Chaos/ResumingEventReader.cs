using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Centaur.Tests.Infrastructure;

namespace Centaur.Tests.Chaos;

/// <summary>
/// An SSE client that behaves like a careful real one: when the stream breaks (API killed, database gone, proxy
/// restarted) it reconnects with after_event_id = the last id it received, until the execution reaches a terminal
/// state or the deadline passes. Every event is kept in arrival order, duplicates included, so tests can count them.
/// </summary>
public static class ResumingEventReader
{
    private static readonly HashSet<string> s_terminal = ["succeeded", "failed", "cancelled", "interrupted"];

    public static bool IsTerminal(ReceivedEvent e) => e.State is { } state && s_terminal.Contains(state);

    /// <summary>Reads from <paramref name="afterEventId"/> to the execution's terminal state, reconnecting as needed.</summary>
    public static async Task<List<ReceivedEvent>> ReadToEndAsync(Func<HttpClient> client, string threadKey, long executionId, long? afterEventId, TimeSpan timeout)
    {
        var events = new List<ReceivedEvent>();
        using var deadline = new CancellationTokenSource(timeout);
        var after = afterEventId;
        while (!deadline.IsCancellationRequested)
        {
            try
            {
                using var http = client();
                await ReadOnceAsync(http, threadKey, executionId, after, events, deadline.Token);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException)
            {
                // the stream broke: reconnect after the last event received
            }

            if (events.Count > 0)
            {
                after = events[^1].Id;
                if (IsTerminal(events[^1]))
                {
                    return events;
                }
            }

            await Task.Delay(250, CancellationToken.None);
        }

        return events;
    }

    private static async Task ReadOnceAsync(HttpClient http, string threadKey, long executionId, long? after, List<ReceivedEvent> events, CancellationToken cancellationToken)
    {
        var url = $"/agent/threads/{Uri.EscapeDataString(threadKey)}/events?execution_id={executionId}" + (after is { } a ? $"&after_event_id={a}" : "");
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        response.EnsureSuccessStatusCode();
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var reader = new StreamReader(stream);
        await ParseAsync(reader, cancellationToken, events.Add);
    }

    /// <summary>Parses an SSE body (heartbeats skipped); <paramref name="onEvent"/> sees each event as it arrives.</summary>
    public static async Task<List<ReceivedEvent>> ParseAsync(TextReader reader, CancellationToken cancellationToken, Action<ReceivedEvent>? onEvent = null)
    {
        var parsed = new List<ReceivedEvent>();
        string? id = null, type = null;
        var data = new StringBuilder();
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (data.Length > 0 && type != "heartbeat" && id is not null)
                {
                    var received = new ReceivedEvent(long.Parse(id, System.Globalization.CultureInfo.InvariantCulture), type ?? "message", JsonNode.Parse(data.ToString())!.AsObject());
                    parsed.Add(received);
                    onEvent?.Invoke(received);
                    if (IsTerminal(received))
                    {
                        return parsed;
                    }
                }

                id = type = null;
                data.Clear();
            }
            else if (line.StartsWith("id: ", StringComparison.Ordinal))
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

        return parsed;
    }
}
