// Tools and workflows benchmark: what the tool gateway adds to a call (auth, persona rule, schema check, ledger row
// before, audit row after) against a plain read of the same thread in the same run, its throughput under
// concurrency, and what a durable step adds to a workflow run against a one-step run.
// Usage: Centaur.Bench.Tools <api url> <api key> <sandbox token key> <postgres connection string>
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Npgsql;

var (apiUrl, apiKey, tokenKey, connectionString) = (args[0], args[1], args[2], args[3]);
var handler = new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue, PooledConnectionLifetime = TimeSpan.FromMinutes(10) };
using var http = new HttpClient(handler) { BaseAddress = new Uri(apiUrl), Timeout = TimeSpan.FromSeconds(60) };

await using (var db = NpgsqlDataSource.Create(connectionString))
await using (var create = db.CreateCommand("CREATE TABLE IF NOT EXISTS test_effects (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, tag text NOT NULL, what text NOT NULL, at timestamptz NOT NULL DEFAULT now())"))
{
    await create.ExecuteNonQueryAsync();
}

var thread = $"bench:{Guid.NewGuid():N}";
await SendAsync(HttpMethod.Post, "/agent/spawn", apiKey, new JsonObject { ["thread_key"] = thread });
var token = Token(thread, "sbx-bench");
var threadPath = $"/agent/threads/{Uri.EscapeDataString(thread)}";
var rows = new List<string[]>();

// Baseline: the same thread state read through a plain endpoint (API key auth, no ledger, no audit).
var read = await TimeAsync(() => SendAsync(HttpMethod.Get, threadPath, apiKey, null), 500);
rows.Add(["GET /agent/threads/{key} (baseline)", Ms(P(read, 50)), Ms(P(read, 99)), "1.00×", ""]);

var call = await TimeAsync(() => SendAsync(HttpMethod.Post, "/tools/centaur/thread_status", token, new JsonObject()), 500);
rows.Add(["POST /tools/centaur/thread_status", Ms(P(call, 50)), Ms(P(call, 99)), $"{P(call, 50) / P(read, 50):F2}×", "ledger row + tool + audit row"]);

var refused = await TimeAsync(() => SendAsync(HttpMethod.Post, "/tools/centaur/list_threads", token, new JsonObject { ["limit"] = 0 }, expectOk: false), 500);
rows.Add(["refused call (bad argument → 400)", Ms(P(refused, 50)), Ms(P(refused, 99)), $"{P(refused, 50) / P(read, 50):F2}×", "schema check + audit row"]);

foreach (var concurrency in new[] { 1, 32 })
{
    var perSecond = await ThroughputAsync(concurrency, TimeSpan.FromSeconds(5));
    var baseline = await ThroughputReadAsync(concurrency, TimeSpan.FromSeconds(5));
    rows.Add([$"tool calls, {concurrency} concurrent", $"{perSecond:F0}/s", "", $"{perSecond / baseline:F2}× reads ({baseline:F0}/s)", ""]);
}

// Workflows: start → succeeded, polled at 5 ms; echo (one step) is the baseline, three_steps has a handler row and three steps.
var echo = await TimeAsync(() => RunWorkflowAsync("echo", new JsonObject { ["n"] = 1 }), 30);
rows.Add(["workflow run, echo (1 step) (baseline)", Ms(P(echo, 50)), Ms(P(echo, 99)), "1.00×", "POST → succeeded"]);
var three = await TimeAsync(() => RunWorkflowAsync("three_steps", new JsonObject { ["tag"] = "bench" }), 30);
rows.Add(["workflow run, three_steps (3 steps)", Ms(P(three, 50)), Ms(P(three, 99)), $"{P(three, 50) / P(echo, 50):F2}×",
    $"≈ {(P(three, 50) - P(echo, 50)) / 2:F1} ms per extra step"]);

Console.WriteLine();
Console.WriteLine("| measurement | p50 / rate | p99 | ratio | note |");
Console.WriteLine("|---|---|---|---|---|");
foreach (var row in rows)
{
    Console.WriteLine($"| {string.Join(" | ", row)} |");
}

return 0;

async Task<List<double>> TimeAsync(Func<Task> action, int count)
{
    for (var i = 0; i < Math.Min(20, count); i++)
    {
        await action();
    }

    var times = new List<double>(count);
    for (var i = 0; i < count; i++)
    {
        var start = Stopwatch.GetTimestamp();
        await action();
        times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
    }

    return times;
}

async Task<double> ThroughputAsync(int concurrency, TimeSpan duration) =>
    await CountAsync(concurrency, duration, () => SendAsync(HttpMethod.Post, "/tools/centaur/thread_status", token, new JsonObject()));

async Task<double> ThroughputReadAsync(int concurrency, TimeSpan duration) =>
    await CountAsync(concurrency, duration, () => SendAsync(HttpMethod.Get, threadPath, apiKey, null));

static async Task<double> CountAsync(int concurrency, TimeSpan duration, Func<Task> action)
{
    var done = 0L;
    var until = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
    {
        while (Stopwatch.GetTimestamp() < until)
        {
            await action();
            Interlocked.Increment(ref done);
        }
    }));
    return done / duration.TotalSeconds;
}

async Task RunWorkflowAsync(string workflow, JsonObject input)
{
    var run = await SendAsync(HttpMethod.Post, $"/workflows/{workflow}/runs", apiKey, new JsonObject { ["input"] = input });
    var id = run!["run_id"]!.GetValue<long>();
    while (true)
    {
        var detail = await SendAsync(HttpMethod.Get, $"/workflows/runs/{id}", apiKey, null);
        var state = detail!["run"]!["state"]!.GetValue<string>();
        if (state is "succeeded")
        {
            return;
        }

        if (state is "failed" or "cancelled")
        {
            throw new InvalidOperationException($"run {id} ended {state}: {detail.ToJsonString()}");
        }

        await Task.Delay(5);
    }
}

async Task<JsonNode?> SendAsync(HttpMethod method, string path, string bearer, JsonObject? body, bool expectOk = true)
{
    using var request = new HttpRequestMessage(method, path);
    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
    if (body is not null)
    {
        request.Content = JsonContent.Create(body);
    }

    using var response = await http.SendAsync(request);
    var text = await response.Content.ReadAsStringAsync();
    if (expectOk && !response.IsSuccessStatusCode)
    {
        throw new InvalidOperationException($"{method} {path}: {(int)response.StatusCode} {text}");
    }

    return text.Length > 0 ? JsonNode.Parse(text) : null;
}

string Token(string threadKey, string sandboxId)
{
    var payload = Base64Url(Encoding.UTF8.GetBytes(new JsonObject
    {
        ["t"] = threadKey, ["s"] = sandboxId, ["exp"] = DateTimeOffset.UtcNow.AddHours(2).ToUnixTimeSeconds(),
    }.ToJsonString()));
    return $"sbx1.{payload}.{Base64Url(HMACSHA256.HashData(Encoding.UTF8.GetBytes(tokenKey), Encoding.UTF8.GetBytes("sbx1." + payload)))}";
}

static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

static double P(List<double> values, int percentile)
{
    var sorted = values.Order().ToList();
    return sorted[Math.Clamp((int)Math.Ceiling(percentile / 100.0 * sorted.Count) - 1, 0, sorted.Count - 1)];
}

static string Ms(double value) => $"{value:F2} ms";
