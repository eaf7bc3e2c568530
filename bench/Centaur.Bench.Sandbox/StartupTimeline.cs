using System.Collections.Concurrent;
using System.Globalization;
using Centaur.Api.Sandboxes.Local;
using Microsoft.Extensions.Logging;

namespace Centaur.Bench.Sandbox;

/// <summary>
/// BENCH_TRACE=1: where a start or a claim spends its time. The backend's log (sandbox started/ready) and the
/// runtime's <c>trace &lt;phase&gt; &lt;unix ms&gt;</c> stderr lines (CENTAUR_SANDBOX_TRACE=1) are put on one clock
/// (the wall clock is the same inside a sandbox) and printed as median offsets from the bench's own mark.
/// </summary>
internal sealed class StartupTimeline : ILogger<LocalSandboxBackend>
{
    private readonly ConcurrentDictionary<string, ConcurrentQueue<(string Phase, double At)>> _marks = new(StringComparer.Ordinal);

    public static bool Enabled { get; } = Environment.GetEnvironmentVariable("BENCH_TRACE") == "1";

    /// <summary>What a sandbox's environment needs for the runtime to trace its start.</summary>
    public static Dictionary<string, string> SandboxEnvironment() =>
        Enabled ? new() { ["CENTAUR_SANDBOX_TRACE"] = "1" } : [];

    public void Mark(string sandboxId, string phase)
    {
        if (Enabled)
        {
            Add(sandboxId, phase, Now());
        }
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => Enabled;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var at = Now();
        if (state is not IReadOnlyList<KeyValuePair<string, object?>> fields || fields.FirstOrDefault(f => f.Key == "SandboxId").Value is not string id)
        {
            return;
        }

        switch (eventId.Id)
        {
            case 4002:
                Add(id, "host: started line read", at);
                break;
            case 4009:
                Add(id, "host: process started", at);
                break;
            case 4003:
                Add(id, "host: ready line read", at);
                break;
            case 4005 when fields.FirstOrDefault(f => f.Key == "Line").Value is string line && line.Split(' ') is ["trace", var phase, var ms]:
                Add(id, "runtime: " + phase, double.Parse(ms, CultureInfo.InvariantCulture));
                break;
        }
    }

    /// <summary>Median offset of every phase from <paramref name="origin"/>, over the given sandboxes, in time order.</summary>
    public void Print(string title, IEnumerable<string> sandboxIds, string origin)
    {
        if (!Enabled)
        {
            return;
        }

        var offsets = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        foreach (var id in sandboxIds)
        {
            if (!_marks.TryGetValue(id, out var marks) || marks.FirstOrDefault(m => m.Phase == origin) is not { Phase: not null } start)
            {
                continue;
            }

            foreach (var (phase, at) in marks)
            {
                if (at >= start.At)
                {
                    (offsets.TryGetValue(phase, out var list) ? list : offsets[phase] = []).Add(at - start.At);
                }
            }
        }

        Console.Error.WriteLine($"timeline: {title} (median ms from '{origin}'; min and p90 of the same phase)");
        foreach (var (phase, values) in offsets.Select(kv => (kv.Key, kv.Value.Order().ToList())).OrderBy(p => p.Item2[p.Item2.Count / 2]))
        {
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {values[values.Count / 2],8:0.0}  {phase} (n={values.Count}, min {values[0]:0.0}, p90 {values[(int)(values.Count * 0.9)]:0.0})"));
        }
    }

    private void Add(string sandboxId, string phase, double at) => _marks.GetOrAdd(sandboxId, _ => new()).Enqueue((phase, at));

    private static double Now() => (DateTime.UtcNow - DateTime.UnixEpoch).TotalMilliseconds;
}
