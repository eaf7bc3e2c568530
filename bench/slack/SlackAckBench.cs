// Load generator for bench/slack/run.sh: open-loop POSTs to /slack/events at a fixed rate, signed like Slack signs
// them, and a p50/p99 table per scenario with the ratio to the first (baseline) scenario.
// Usage: dotnet run bench/slack/SlackAckBench.cs -- <base url> <requests/s> <seconds> <signing secret>
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;

var baseUrl = new Uri(args[0]);
var rate = int.Parse(args[1], CultureInfo.InvariantCulture);
var seconds = int.Parse(args[2], CultureInfo.InvariantCulture);
var secret = args[3];
var runId = Guid.NewGuid().ToString("N")[..8];
var retried = $"EvRETRY{runId}";

using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 512, PooledConnectionLifetime = TimeSpan.FromMinutes(10) })
{
    BaseAddress = baseUrl,
    Timeout = TimeSpan.FromSeconds(10),
};

(string Name, Func<int, string> Body)[] scenarios =
[
    ("url_verification (baseline: verify + parse)", _ => """{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"""),
    ("app_mention, new event_id (verify + inbox INSERT)", i => EventBody($"Ev{runId}{i:D7}", i)),
    ("app_mention, Slack retry of one event_id (dedupe)", i => EventBody(retried, 0)),
];

Console.WriteLine($"Centaur.Slack ack latency: POST /slack/events, {rate} requests/s for {seconds} s per scenario (open loop), {Environment.ProcessorCount} cores");
Console.WriteLine();
Console.WriteLine("| scenario | requests | non-200 | achieved req/s | p50 ms | p99 ms | max ms | p50 vs baseline | p99 vs baseline |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
double? baseP50 = null, baseP99 = null;
var results = new List<string>(); // for bench/run: RESULT|figure|measured|baseline|unit|target
foreach (var (name, body) in scenarios)
{
    await RunAsync(body, rate, Math.Min(3, seconds));
    var result = await RunAsync(body, rate, seconds);
    var p50 = Percentile(result.Latencies, 0.50);
    var p99 = Percentile(result.Latencies, 0.99);
    baseP50 ??= p50;
    baseP99 ??= p99;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {name} | {result.Latencies.Count} | {result.Errors} | {result.Latencies.Count / result.Elapsed.TotalSeconds:F0} | {p50:F2} | {p99:F2} | {result.Latencies.Max():F2} | {p50 / baseP50:F2}× | {p99 / baseP99:F2}× |"));
    if (name != scenarios[0].Name)
    {
        var figure = name[..name.IndexOf(" (", StringComparison.Ordinal)];
        results.Add(string.Create(CultureInfo.InvariantCulture, $"RESULT|slack: ack p99, {figure}, {rate}/s|{p99:0.###}|{baseP99:0.###}|ms|<100"));
        results.Add(string.Create(CultureInfo.InvariantCulture, $"RESULT|slack: non-200 acks, {figure}|{result.Errors}|0||=0"));
    }
}

Console.WriteLine();
Console.WriteLine("Target: p99 < 100 ms for the acknowledgement (Slack gives up after 3 s).");
Console.WriteLine();
results.ForEach(Console.WriteLine);
return 0;

async Task<(List<double> Latencies, int Errors, TimeSpan Elapsed)> RunAsync(Func<int, string> body, int perSecond, int duration)
{
    var total = perSecond * duration;
    var latencies = new double[total];
    var errors = 0;
    var pending = new List<Task>(total);
    var clock = Stopwatch.StartNew();
    for (var i = 0; i < total; i++)
    {
        var due = TimeSpan.FromSeconds((double)i / perSecond);
        while (clock.Elapsed < due)
        {
            var wait = due - clock.Elapsed;
            await Task.Delay(wait > TimeSpan.FromMilliseconds(2) ? wait - TimeSpan.FromMilliseconds(1) : TimeSpan.Zero);
        }

        var index = i;
        pending.Add(Task.Run(async () =>
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                using var request = Signed(body(index));
                using var response = await http.SendAsync(request);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    Interlocked.Increment(ref errors);
                }
            }
            catch (HttpRequestException)
            {
                Interlocked.Increment(ref errors);
            }
            catch (TaskCanceledException)
            {
                Interlocked.Increment(ref errors);
            }

            latencies[index] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }));
    }

    await Task.WhenAll(pending);
    return ([.. latencies], errors, clock.Elapsed);
}

HttpRequestMessage Signed(string json)
{
    var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
    var bytes = Encoding.UTF8.GetBytes(json);
    var signature = "v0=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"v0:{timestamp}:").Concat(bytes).ToArray()));
    var request = new HttpRequestMessage(HttpMethod.Post, "/slack/events") { Content = new ByteArrayContent(bytes) };
    request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
    request.Headers.Add("X-Slack-Request-Timestamp", timestamp);
    request.Headers.Add("X-Slack-Signature", signature);
    return request;
}

static string EventBody(string eventId, int i) => $$$"""
    {"token":"x","team_id":"T1","api_app_id":"A1","type":"event_callback","event_id":"{{{eventId}}}","event_time":1605853844,
     "event":{"type":"app_mention","user":"U1","text":"<@U0> bench {{{i}}}","ts":"1605853844.{{{i:D6}}}","channel":"CBENCH","event_ts":"1605853844.{{{i:D6}}}"}}
    """;

static double Percentile(List<double> values, double p)
{
    var sorted = values.Order().ToList();
    return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
}
