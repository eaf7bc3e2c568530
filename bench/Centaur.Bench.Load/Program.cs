// Load benchmark: many threads taking turns at once against one Centaur.Api, each turn a FakeSandbox answer that
// first calls the fake LLM through a real IronProxy. Reports turns/s, time to first token (POST message → first
// assistant_delta on the thread's SSE stream) p50/p99, API and proxy peak RSS and peak Postgres connections, each
// against a baseline measured in the same run (1 thread taking the same turns alone), then checks in the database
// that nothing was lost: every execution succeeded with exactly one assistant chat_message that went through the LLM.
// Usage: Centaur.Bench.Load <api url> <api key> <postgres connection string> <api pid> <proxy pid> [threads] [turns]
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Npgsql;

var (apiUrl, apiKey, connectionString) = (args[0], args[1], args[2]);
var (apiPid, proxyPid) = (int.Parse(args[3], CultureInfo.InvariantCulture), int.Parse(args[4], CultureInfo.InvariantCulture));
var threads = args.Length > 5 ? int.Parse(args[5], CultureInfo.InvariantCulture) : 50;
var turns = args.Length > 6 ? int.Parse(args[6], CultureInfo.InvariantCulture) : 5;
var handler = new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue, PooledConnectionLifetime = TimeSpan.FromMinutes(30) };
using var http = new HttpClient(handler) { BaseAddress = new Uri(apiUrl), Timeout = TimeSpan.FromSeconds(60) };
http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
var runId = Guid.NewGuid().ToString("N")[..8];

// The whole run is bounded: a stuck turn is an error, not a hang.
using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(15));
await using var db = NpgsqlDataSource.Create(connectionString);
var sampler = new ConnectionSampler(db);
var sampling = sampler.RunAsync(stop.Token);

// Warm-up (JIT, pools, the proxy's first route and TLS session): not measured.
await RunPhaseAsync("warm", Math.Min(threads, 5), turns);

// Idle: what the services burn per second with nothing to do (timers, polls, JIT tiering after the warm-up).
await Task.Delay(TimeSpan.FromSeconds(10)); // let tiered JIT finish what the warm-up started
var cpu = (Api: CpuMs(apiPid), Proxy: CpuMs(proxyPid));
await Task.Delay(TimeSpan.FromSeconds(5));
var idle = (Api: (CpuMs(apiPid) - cpu.Api) / 5, Proxy: (CpuMs(proxyPid) - cpu.Proxy) / 5);
Console.Error.WriteLine($"idle CPU: API {idle.Api:F0} ms/s, IronProxy {idle.Proxy:F0} ms/s");

sampler.Reset();
cpu = (Api: CpuMs(apiPid), Proxy: CpuMs(proxyPid));
var baseline = await RunPhaseAsync("base", 1, turns);
var baselineCpu = (Api: (CpuMs(apiPid) - cpu.Api) / turns, Proxy: (CpuMs(proxyPid) - cpu.Proxy) / turns);
var baselinePg = sampler.Peak;
var (baselineApiRss, baselineProxyRss) = (PeakRssMiB(apiPid), PeakRssMiB(proxyPid));

sampler.Reset();
cpu = (Api: CpuMs(apiPid), Proxy: CpuMs(proxyPid));
var load = await RunPhaseAsync("load", threads, turns);
var loadCpu = (Api: (CpuMs(apiPid) - cpu.Api) / (threads * turns), Proxy: (CpuMs(proxyPid) - cpu.Proxy) / (threads * turns));
var loadPg = sampler.Peak;
var (loadApiRss, loadProxyRss) = (PeakRssMiB(apiPid), PeakRssMiB(proxyPid));
await stop.CancelAsync();
await sampling;

var (loadLost, loadChecked) = await VerifyAsync("load", threads * turns);
var (baseLost, baseChecked) = await VerifyAsync("base", turns);

var results = new List<string>();
Console.WriteLine();
Console.WriteLine($"Load: {threads} threads x {turns} turns at once vs 1 thread x {turns} turns alone (baseline, same run); " +
    $"FakeSandbox processes, every turn one fake LLM call through IronProxy; {Environment.ProcessorCount} cores");
Console.WriteLine();
Console.WriteLine("| figure | load | baseline | ratio |");
Console.WriteLine("|---|---:|---:|---:|");
Row("turns/s", load.TurnsPerSecond, baseline.TurnsPerSecond, "turns/s", "");
Row("time to first token p50", P(load.FirstToken, 50), P(baseline.FirstToken, 50), "ms", "");
Row("time to first token p99", P(load.FirstToken, 99), P(baseline.FirstToken, 99), "ms", "");
Row($"time to first token p50, turns 2-{turns} (sandbox up)", P(load.WarmFirstToken, 50), P(baseline.WarmFirstToken, 50), "ms", "");
Row($"time to first token p99, turns 2-{turns} (sandbox up)", P(load.WarmFirstToken, 99), P(baseline.WarmFirstToken, 99), "ms", "");
// CPU time per turn does not depend on what else the machine runs (latency does).
Row("API CPU time per turn", loadCpu.Api, baselineCpu.Api, "ms", "");
Row("IronProxy CPU time per turn", loadCpu.Proxy, baselineCpu.Proxy, "ms", "");
Row("API peak RSS", loadApiRss, baselineApiRss, "MiB", "");
Row("IronProxy peak RSS", loadProxyRss, baselineProxyRss, "MiB", "");
Row("Postgres connections, peak", loadPg, baselinePg, "", "");
Row("errors", load.Errors, baseline.Errors, "", "=0");
Row("lost turns (checked in the database)", loadLost, baseLost, "", "=0");
Console.WriteLine();
Console.WriteLine($"CPU while idle (after the warm-up): API {idle.Api:F0} ms/s, IronProxy {idle.Proxy:F0} ms/s");
Console.WriteLine($"turns checked: {loadChecked} of {threads * turns} (load), {baseChecked} of {turns} (baseline); wall time {load.Seconds:F1} s (load), {baseline.Seconds:F1} s (baseline)");
// For bench/run: RESULT|figure|measured|baseline|unit|target
Console.WriteLine();
results.ForEach(Console.WriteLine);
foreach (var error in load.Messages.Concat(baseline.Messages).Take(10))
{
    Console.WriteLine($"error: {error}");
}

return load.Errors + loadLost + baseline.Errors + baseLost == 0 ? 0 : 1;

void Row(string figure, double value, double baselineValue, string unit, string target)
{
    var ratio = baselineValue == 0 ? "—" : $"{value / baselineValue:F2}×";
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {figure} | {value:0.##} {unit} | {baselineValue:0.##} {unit} | {ratio} |"));
    results.Add(string.Create(CultureInfo.InvariantCulture, $"RESULT|load: {figure}|{value:0.###}|{baselineValue:0.###}|{unit}|{target}"));
}

async Task<Phase> RunPhaseAsync(string phase, int threadCount, int turnCount)
{
    var firstToken = new ConcurrentBag<(int Turn, double Ms)>();
    var messages = new ConcurrentQueue<string>();
    var errors = 0;
    var clock = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, threadCount).Select(i => Task.Run(async () =>
    {
        var thread = $"load:{runId}:{phase}:{i:D3}";
        try
        {
            await RunThreadAsync(thread, turnCount, firstToken);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or InvalidOperationException or IOException)
        {
            Interlocked.Increment(ref errors);
            messages.Enqueue($"{thread}: {e.Message}");
        }
    })));
    var seconds = clock.Elapsed.TotalSeconds;
    Console.Error.WriteLine($"{phase}: {threadCount} x {turnCount} turns in {seconds:F1} s, {errors} errors");
    return new Phase(threadCount * turnCount / seconds, [.. firstToken.Select(t => t.Ms)], [.. firstToken.Where(t => t.Turn > 1).Select(t => t.Ms)],
        errors, seconds, [.. messages]);
}

// One turn as a client renders it: POST message, POST execute, then that execution's event stream (a thread-wide
// stream closes whenever the thread is idle, so each turn opens its own; events already stored are replayed).
async Task RunThreadAsync(string thread, int turnCount, ConcurrentBag<(int Turn, double Ms)> firstToken)
{
    await PostAsync("/agent/spawn", new JsonObject { ["thread_key"] = thread });
    for (var turn = 1; turn <= turnCount; turn++)
    {
        var start = Stopwatch.GetTimestamp();
        await PostAsync("/agent/message", new JsonObject
        {
            ["thread_key"] = thread, ["text"] = $"question {turn}\n[fake] deltas=5 llm=llm", ["author"] = "bench", ["client_message_id"] = $"m{turn}",
        });
        var execution = await PostAsync("/agent/execute", new JsonObject { ["thread_key"] = thread, ["idempotency_key"] = $"e{turn}" });
        var executionId = execution["execution_id"]!.GetValue<long>();
        using var turnTimeout = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
        turnTimeout.CancelAfter(TimeSpan.FromMinutes(3));
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/agent/threads/{Uri.EscapeDataString(thread)}/events?execution_id={executionId}");
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, turnTimeout.Token);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(turnTimeout.Token));
        double? ttft = null;
        string? state = null;
        while (state is null && await reader.ReadLineAsync(turnTimeout.Token) is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal) || JsonNode.Parse(line[6..]) is not JsonObject e || e["event_id"] is null)
            {
                continue;
            }

            var type = e["type"]?.GetValue<string>();
            if (type == "assistant_delta")
            {
                ttft ??= Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
            else if (type == "execution_state" && e["data"]?["state"]?.GetValue<string>() is { } s and not ("queued" or "running"))
            {
                state = s;
            }
        }

        if (state != "succeeded" || ttft is null)
        {
            throw new InvalidOperationException($"execution {executionId} ended {state ?? "(stream closed)"}, first token seen: {ttft is not null}");
        }

        firstToken.Add((turn, ttft.Value));
    }
}

async Task<JsonObject> PostAsync(string path, JsonObject body)
{
    using var response = await http.PostAsJsonAsync(path, body, stop.Token);
    var text = await response.Content.ReadAsStringAsync(stop.Token);
    if (!response.IsSuccessStatusCode)
    {
        throw new HttpRequestException($"POST {path}: {(int)response.StatusCode} {text}");
    }

    return JsonNode.Parse(text) as JsonObject ?? [];
}

// A turn counts only if its execution succeeded and left exactly one assistant message that went through the LLM.
async Task<(int Lost, int Checked)> VerifyAsync(string phase, int expected)
{
    const string sql = """
        SELECT count(*) FILTER (WHERE e.state = 'succeeded'
                                  AND (SELECT count(*) FROM chat_messages c WHERE c.execution_id = e.id AND c.role = 'assistant') = 1
                                  AND (SELECT count(*) FROM chat_messages c WHERE c.execution_id = e.id AND c.role = 'assistant'
                                       AND c.text LIKE '%[llm: 200]') = 1)
        FROM agent_execution_requests e
        WHERE e.thread_key LIKE @prefix
        """;
    await using var command = db.CreateCommand(sql);
    command.Parameters.AddWithValue("prefix", $"load:{runId}:{phase}:%");
    var good = (int)(long)(await command.ExecuteScalarAsync())!;
    return (expected - good, good);
}

static double PeakRssMiB(int pid)
{
    if (pid <= 0)
    {
        return 0;
    }

    var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
    return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
}

// utime + stime of the process (and its reaped children: none for these two), in ms.
static double CpuMs(int pid)
{
    var stat = File.ReadAllText($"/proc/{pid}/stat");
    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) * 1000.0 / 100;
}

static double P(double[] samples, int percentile)
{
    if (samples.Length == 0)
    {
        return double.NaN;
    }

    var sorted = samples.Order().ToArray();
    return sorted[Math.Clamp((int)Math.Ceiling(percentile / 100.0 * sorted.Length) - 1, 0, sorted.Length - 1)];
}

internal sealed record Phase(double TurnsPerSecond, double[] FirstToken, double[] WarmFirstToken, int Errors, double Seconds, string[] Messages);

/// <summary>Peak client connections to Postgres (all services, not this sampler), polled every 50 ms.</summary>
internal sealed class ConnectionSampler(NpgsqlDataSource db)
{
    private const string CountSql = """
        SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
        """;

    private int _peak;

    public int Peak => Volatile.Read(ref _peak);

    public void Reset() => Volatile.Write(ref _peak, 0);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await db.OpenConnectionAsync(cancellationToken);
            await using var command = new NpgsqlCommand(CountSql, connection);
            while (!cancellationToken.IsCancellationRequested)
            {
                var count = (int)(long)(await command.ExecuteScalarAsync(cancellationToken))!;
                if (count > Volatile.Read(ref _peak))
                {
                    Volatile.Write(ref _peak, count);
                }

                await Task.Delay(50, cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
            // the run is over
        }
    }
}
