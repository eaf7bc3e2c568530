// Local sandbox benchmark: cold start, warm claim, and spawn → first harness output per harness, against the fake
// LLM, each as p50/p99 over N runs with ratios to baselines measured in the same run. Usage: bench/sandbox.sh [runs]
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Centaur.Api;
using Centaur.Api.Auth;
using Centaur.Api.Sandboxes;
using Centaur.Api.Sandboxes.Local;
using Centaur.Bench.Sandbox;
using Centaur.Tests.Fakes.FakeLlm;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

var runs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 50;
var piRuns = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : runs;
var root = Path.Combine(Path.GetTempPath(), $"centaur-bench-sbx-{Guid.NewGuid():N}"[..28]);
Directory.CreateDirectory(root);
using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(40));
await using var llm = await FakeLlmServer.StartAsync(Path.Combine(root, "egress.sock"), stop.Token);
var options = new LocalSandboxOptions
{
    StateDirectory = Path.Combine(root, "state"),
    RuntimeDirectory = Path.Combine(AppContext.BaseDirectory, "sandbox-runtime"),
    EgressSocket = llm.SocketPath,
    AnthropicBaseUrl = "{egress}",
    OpenAiBaseUrl = "{egress}/v1",
    ApiUrl = "http://127.0.0.1:9",
};
var wrapped = Options.Create(options);
var tokens = new SandboxTokenIssuer(Options.Create(new CentaurOptions { SandboxTokenKey = "bench-sandbox-token-key-0123456789" }), TimeProvider.System);
var timeline = new StartupTimeline();
await using var backend = new LocalSandboxBackend(wrapped, tokens, new ApiSocketForwarder(wrapped, new ServiceCollection().BuildServiceProvider(), NullLogger<ApiSocketForwarder>.Instance), TimeProvider.System, timeline);
var table = new List<Row>();
Console.Error.WriteLine($"sandboxes: {backend.Isolation}; limits: {backend.Limits.Describe()}; runs: {runs} (pi: {piRuns})");

// Baselines, same run, same machine.
var spawn = await Measure.RunAsync(runs, async () => { await Measure.ProcessAsync("/bin/true"); return null; });
var bwrapTrue = await Measure.RunAsync(runs, async () =>
{
    await Measure.ProcessAsync(backend.Bubblewrap!.Path, "--unshare-user", "--uid", "1000", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-net",
        "--die-with-parent", "--cap-drop", "ALL", "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
        "--symlink", "usr/bin", "/bin", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "/bin/true");
    return null;
});
using var http = new HttpClient();
var llmDirect = await Measure.RunAsync(runs, async () =>
{
    using var response = await http.PostAsync($"{llm.Url}/v1/messages", new StringContent("""{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));
    await response.Content.ReadAsStringAsync();
    return null;
});
table.Add(new("baseline: spawn /bin/true", spawn, null));
table.Add(new("baseline: bwrap (same namespaces) /bin/true", bwrapTrue, spawn));
table.Add(new("baseline: fake LLM call, direct HTTP", llmDirect, null));

// Warm pool fill: spawn → the runtime runs in its sandbox and waits for a thread.
var warmIds = new Queue<string>();
var warmStart = await Measure.RunAsync(runs, async () =>
{
    var id = NewId();
    timeline.Mark(id, "bench: spawn");
    await backend.StartAsync(new SandboxSpec(id, null, "claude-code", null, null, StartupTimeline.SandboxEnvironment()), stop.Token);
    warmIds.Enqueue(id);
    return null;
});
table.Add(new("sandbox start: spawn → runtime up (warm pool fill)", warmStart, bwrapTrue));
timeline.Print("warm pool fill", warmIds, "bench: spawn");

// Warm claim: an unassigned sandbox becomes the thread's (home moved in, workspace assembled, ~/.ready). Only the
// claim is timed; stopping the sandbox afterwards (and its harness, which starts after ready) is not.
var claimed = warmIds.ToList();
var warmClaim = await Measure.RunAsync(runs, async () =>
{
    var id = warmIds.Dequeue();
    var sw = Stopwatch.StartNew();
    timeline.Mark(id, "bench: assign");
    await backend.AssignAsync(id, new SandboxSpec(id, $"bench:{id}", "claude-code", null, null, new Dictionary<string, string>()), stop.Token);
    var elapsed = sw.Elapsed;
    await backend.StopAsync(id, stop.Token);
    return elapsed;
});
table.Add(new("warm claim: assign → ready", warmClaim, bwrapTrue));
timeline.Print("warm claim", claimed, "bench: assign");

// Cold start for a thread: spawn → workspace assembled (~/.ready), before the harness starts.
var coldIds = new List<string>();
var cold = await Measure.RunAsync(runs, async () =>
{
    var id = NewId();
    coldIds.Add(id);
    timeline.Mark(id, "bench: spawn");
    await backend.StartAsync(new SandboxSpec(id, $"bench:{id}", "claude-code", null, null, StartupTimeline.SandboxEnvironment()), stop.Token);
    return id;
}, cleanup: id => backend.StopAsync(id, stop.Token));
table.Add(new("cold start: spawn → ready (before the harness)", cold, bwrapTrue));
timeline.Print("cold start", coldIds, "bench: spawn");

// BENCH_ONLY_START=1: the start and claim figures only (quicker, while working on start-up).
if (Environment.GetEnvironmentVariable("BENCH_ONLY_START") != "1")
{
    // Spawn → first harness output for a first turn, per harness (cold sandbox, cold CLI).
    foreach (var (harness, model, n) in new[] { ("claude-code", (string?)null, runs), ("codex", "gpt-5.1-codex", runs), ("pi", "claude-sonnet-4-5", piRuns) })
    {
        var first = await Measure.RunAsync(n, async () =>
        {
            var id = NewId();
            var spec = new SandboxSpec(id, $"bench:{id}", harness, null, null, new Dictionary<string, string>()) { Model = model };
            await backend.StartAsync(spec, stop.Token);
            var wire = await backend.AttachAsync(id, stop.Token);
            await wire.SendAsync(new JsonObject { ["type"] = "turn.start", ["turn_id"] = 1, ["text"] = "hello" }, stop.Token);
            await Measure.FirstOutputAsync(wire, stop.Token);
            return id;
        }, cleanup: id => backend.StopAsync(id, stop.Token));
        table.Add(new($"{harness}: spawn → first output", first, llmDirect));
    }

    // A warm Claude Code process: turn.start → first output (the CLI keeps the conversation on one process).
    {
        var id = NewId();
        await backend.StartAsync(new SandboxSpec(id, $"bench:{id}", "claude-code", null, null, new Dictionary<string, string>()), stop.Token);
        var wire = await backend.AttachAsync(id, stop.Token);
        var turn = 0;
        await Measure.TurnAsync(wire, ++turn, "warm up", stop.Token);
        var warm = await Measure.RunAsync(runs, async () =>
        {
            var sw = Stopwatch.StartNew();
            await wire.SendAsync(new JsonObject { ["type"] = "turn.start", ["turn_id"] = ++turn, ["text"] = "again" }, stop.Token);
            await Measure.FirstOutputAsync(wire, stop.Token);
            var elapsed = sw.Elapsed;
            await Measure.DrainTurnAsync(wire, turn, stop.Token);
            return elapsed;
        });
        table.Add(new("claude-code (warm process): turn.start → first output", warm, llmDirect));
        await backend.StopAsync(id, stop.Token);
    }
}

Console.WriteLine();
Console.WriteLine($"| metric | n | p50 ms | p99 ms | p50 ratio |");
Console.WriteLine($"| --- | ---: | ---: | ---: | ---: |");
foreach (var row in table)
{
    var ratio = row.Baseline is null ? "1.0 (baseline)" : $"{row.Samples.P50 / row.Baseline.P50:0.0}x {row.BaselineName(table)}";
    Console.WriteLine($"| {row.Name} | {row.Samples.Count} | {row.Samples.P50:0.0} | {row.Samples.P99:0.0} | {ratio} |");
}

// For bench/run: RESULT|figure|measured|baseline|unit|target (the targets of the sandbox issue, on p50).
Console.WriteLine();
foreach (var row in table.Where(r => r.Baseline is not null))
{
    var target = row.Name switch
    {
        "warm claim: assign → ready" => "<50",
        "cold start: spawn → ready (before the harness)" => "<100",
        "claude-code (warm process): turn.start → first output" => "<100",
        _ => "",
    };
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"RESULT|sandbox: {row.Name} p50 ({row.BaselineName(table)})|{row.Samples.P50:0.###}|{row.Baseline!.P50:0.###}|ms|{target}"));
}

try
{
    Directory.Delete(root, recursive: true);
}
catch (IOException)
{
    // best effort, /tmp
}

static string NewId() => "b" + Guid.NewGuid().ToString("N")[..15];

internal sealed record Row(string Name, Samples Samples, Samples? Baseline)
{
    public string BaselineName(List<Row> rows) => "vs " + rows.First(r => ReferenceEquals(r.Samples, Baseline)).Name.Replace("baseline: ", "", StringComparison.Ordinal);
}
