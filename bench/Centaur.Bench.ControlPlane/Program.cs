// Control-plane benchmark: message → first SSE event latency, and SSE fan-out to 1, 100 and 1 000 subscribers,
// each against a baseline measured in the same run (a bare Postgres NOTIFY round trip; one subscriber).
// Usage: Centaur.Bench.ControlPlane <api url> <api key> <postgres connection string>
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Npgsql;

var (apiUrl, apiKey, connectionString) = (args[0], args[1], args[2]);
var handler = new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue, PooledConnectionLifetime = TimeSpan.FromMinutes(10) };
using var http = new HttpClient(handler) { BaseAddress = new Uri(apiUrl), Timeout = Timeout.InfiniteTimeSpan };
http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);

var rows = new List<string[]>();
var results = new List<string>(); // for bench/run: RESULT|figure|measured|baseline|unit|target

// Baseline 1: the database's own notification round trip (what every wake-up costs at least).
var notify = await NotifyRoundTripAsync(connectionString, 200);
rows.Add(["Postgres NOTIFY round trip (baseline)", Ms(P(notify, 50)), Ms(P(notify, 99)), "1.00", ""]);

// Latency: POST message + execute on a fresh thread whose stream is already open → first event on that stream,
// one turn at a time.
await WarmUpAsync();
var latency = new List<double>();
for (var i = 0; i < 100; i++)
{
    latency.Add(await MessageToFirstEventAsync());
}

rows.Add(["message+execute → first SSE event", Ms(P(latency, 50)), Ms(P(latency, 99)),
    $"{P(latency, 50) / P(notify, 50):F1}× baseline p50", P(latency, 50) < 20 ? "target p50 < 20 ms: met" : "target p50 < 20 ms: MISSED"]);
results.Add(Result("control plane: message+execute → first SSE event p50", P(latency, 50), P(notify, 50), "ms", "<20"));
results.Add(Result("control plane: message+execute → first SSE event p99", P(latency, 99), P(notify, 99), "ms", ""));

// Fan-out: N subscribers on one thread, one turn of 200 deltas.
double? single = null;
foreach (var subscribers in new[] { 1, 100, 1000 })
{
    var (eventsPerSecond, lost, expected) = await FanOutAsync(subscribers, deltas: 200);
    single ??= eventsPerSecond;
    rows.Add([$"SSE fan-out, {subscribers} subscriber(s), {expected} events each", $"{eventsPerSecond:F0} events/s", "",
        $"{eventsPerSecond / single.Value:F2}× 1 subscriber", lost == 0 ? "no lost events" : $"LOST {lost} events"]);
    if (subscribers > 1)
    {
        results.Add(Result($"control plane: SSE fan-out to {subscribers} subscribers", eventsPerSecond, single.Value, "events/s", ""));
        results.Add(Result($"control plane: SSE fan-out to {subscribers} subscribers, lost events", lost, 0, "", "=0"));
    }
}

Console.WriteLine();
Console.WriteLine("| measurement | p50 / rate | p99 | ratio | note |");
Console.WriteLine("|---|---|---|---|---|");
foreach (var row in rows)
{
    Console.WriteLine($"| {string.Join(" | ", row)} |");
}

Console.WriteLine();
results.ForEach(Console.WriteLine);
return 0;

static string Result(string figure, double measured, double baseline, string unit, string target) =>
    string.Create(System.Globalization.CultureInfo.InvariantCulture, $"RESULT|{figure}|{measured:0.###}|{baseline:0.###}|{unit}|{target}");

async Task WarmUpAsync()
{
    for (var i = 0; i < 10; i++)
    {
        await MessageToFirstEventAsync();
    }
}

async Task<double> MessageToFirstEventAsync()
{
    var thread = $"bench:{Guid.NewGuid():N}";
    await PostAsync("/agent/spawn", new JsonObject { ["thread_key"] = thread });
    var firstEvent = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
    using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
    // The stream is read to the turn's end (untimed), so the next sample does not share the cores with this
    // sample's sandbox starting up: what is measured is the control plane's path, not the previous turn.
    var reader = ReadEventsAsync(thread, e =>
    {
        firstEvent.TrySetResult(Stopwatch.GetTimestamp());
        return (string?)e["type"] == "execution_state" && (string?)e["data"]?["state"] is "succeeded" or "failed" or "cancelled" or "interrupted";
    }, cts.Token);
    await Task.Delay(50); // the stream is open and waiting
    var start = Stopwatch.GetTimestamp();
    await PostAsync("/agent/message", new JsonObject { ["thread_key"] = thread, ["text"] = "hi", ["author"] = "bench", ["client_message_id"] = "m" });
    await PostAsync("/agent/execute", new JsonObject { ["thread_key"] = thread, ["idempotency_key"] = "e" });
    var end = await firstEvent.Task.WaitAsync(cts.Token);
    await reader;
    return Stopwatch.GetElapsedTime(start, end).TotalMilliseconds;
}

async Task<(double EventsPerSecond, long Lost, int Expected)> FanOutAsync(int subscribers, int deltas)
{
    var thread = $"bench:{Guid.NewGuid():N}";
    await PostAsync("/agent/spawn", new JsonObject { ["thread_key"] = thread });
    using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
    var counts = new int[subscribers];
    var first = new long[subscribers];
    var last = new long[subscribers];
    var readers = Enumerable.Range(0, subscribers).Select(i => ReadEventsAsync(thread, e =>
    {
        // Throughput is measured over the streamed part of the turn (first delta → terminal state), so the
        // sandbox's cold start does not count.
        if (e["type"]?.GetValue<string>() == "assistant_delta" && first[i] == 0)
        {
            first[i] = Stopwatch.GetTimestamp();
        }

        counts[i]++;
        last[i] = Stopwatch.GetTimestamp();
        return e["type"]?.GetValue<string>() == "execution_state" && e["data"]?["state"]?.GetValue<string>() is "succeeded" or "failed";
    }, cts.Token)).ToList();
    await Task.Delay(TimeSpan.FromSeconds(subscribers >= 1000 ? 5 : 1));
    var text = string.Concat(Enumerable.Repeat("fan out ", deltas));
    await PostAsync("/agent/message", new JsonObject { ["thread_key"] = thread, ["text"] = $"{text}\n[fake] deltas={deltas}", ["author"] = "bench", ["client_message_id"] = "m" });
    await PostAsync("/agent/execute", new JsonObject { ["thread_key"] = thread, ["idempotency_key"] = "e" });
    await Task.WhenAll(readers);
    var seconds = Stopwatch.GetElapsedTime(first.Where(t => t > 0).Min(), last.Max()).TotalSeconds;
    var expected = counts.Max();
    var lost = counts.Sum(c => (long)(expected - c));
    return (counts.Sum() / seconds, lost, expected);
}

async Task ReadEventsAsync(string thread, Func<JsonObject, bool> onEvent, CancellationToken cancellationToken)
{
    try
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/agent/threads/{Uri.EscapeDataString(thread)}/events");
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal) && JsonNode.Parse(line[6..]) is JsonObject e && e["event_id"] is not null
                && onEvent(e))
            {
                return;
            }
        }
    }
    catch (OperationCanceledException)
    {
        // the measurement is over
    }
}

async Task PostAsync(string path, JsonObject body)
{
    using var response = await http.PostAsJsonAsync(path, body);
    response.EnsureSuccessStatusCode();
}

static async Task<List<double>> NotifyRoundTripAsync(string connectionString, int count)
{
    await using var listen = new NpgsqlConnection(connectionString);
    await listen.OpenAsync();
    await using var send = new NpgsqlConnection(connectionString);
    await send.OpenAsync();
    var received = new TaskCompletionSource();
    listen.Notification += (_, _) => received.TrySetResult();
    await using (var cmd = new NpgsqlCommand("LISTEN bench", listen))
    {
        await cmd.ExecuteNonQueryAsync();
    }

    var samples = new List<double>();
    for (var i = 0; i < count; i++)
    {
        received = new TaskCompletionSource();
        var wait = listen.WaitAsync();
        var start = Stopwatch.GetTimestamp();
        await using (var cmd = new NpgsqlCommand("SELECT pg_notify('bench', 'x')", send))
        {
            await cmd.ExecuteNonQueryAsync();
        }

        await wait;
        await received.Task;
        samples.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
    }

    return samples;
}

static double P(List<double> samples, int percentile)
{
    var sorted = samples.Order().ToList();
    return sorted[Math.Clamp((int)Math.Ceiling(percentile / 100.0 * sorted.Count) - 1, 0, sorted.Count - 1)];
}

static string Ms(double value) => $"{value:F2} ms";
