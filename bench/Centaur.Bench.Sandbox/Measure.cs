using System.Diagnostics;
using System.Text.Json.Nodes;
using Centaur.Api.Sandboxes;

namespace Centaur.Bench.Sandbox;

internal sealed class Samples(List<double> milliseconds)
{
    public int Count => milliseconds.Count;

    public double P50 => Percentile(0.50);

    public double P99 => Percentile(0.99);

    // Nearest rank: with 50 samples p99 is the largest one.
    private double Percentile(double p)
    {
        var sorted = milliseconds.Order().ToList();
        return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
    }
}

internal static class Measure
{
    /// <summary>Runs <paramref name="action"/> n times; its own duration counts, unless it returns a TimeSpan (then that does).</summary>
    public static async Task<Samples> RunAsync(int n, Func<Task<object?>> action, Func<string, Task>? cleanup = null)
    {
        var samples = new List<double>(n);
        for (var i = 0; i < n; i++)
        {
            var sw = Stopwatch.StartNew();
            var result = await action();
            var elapsed = result is TimeSpan own ? own : sw.Elapsed;
            samples.Add(elapsed.TotalMilliseconds);
            if (result is string id && cleanup is not null)
            {
                await cleanup(id);
            }
        }

        return new Samples(samples);
    }

    public static async Task ProcessAsync(string file, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(file, args) { UseShellExecute = false, RedirectStandardOutput = true })!;
        await process.WaitForExitAsync();
    }

    /// <summary>The first line a harness produced for the turn: streamed text, an assistant message or a result.</summary>
    public static async Task FirstOutputAsync(ISandboxWire wire, CancellationToken cancellationToken)
    {
        await foreach (var line in wire.ReadAllAsync(cancellationToken))
        {
            if (line["type"]?.GetValue<string>() is "stream_event" or "assistant" or "result")
            {
                return;
            }
        }

        throw new InvalidOperationException("the sandbox ended before any output");
    }

    public static async Task DrainTurnAsync(ISandboxWire wire, int turnId, CancellationToken cancellationToken)
    {
        await foreach (var line in wire.ReadAllAsync(cancellationToken))
        {
            if (line["type"]?.GetValue<string>() == "turn.done" && line["turn_id"]?.GetValue<int>() == turnId)
            {
                return;
            }
        }
    }

    public static async Task TurnAsync(ISandboxWire wire, int turnId, string text, CancellationToken cancellationToken)
    {
        await wire.SendAsync(new JsonObject { ["type"] = "turn.start", ["turn_id"] = turnId, ["text"] = text }, cancellationToken);
        await DrainTurnAsync(wire, turnId, cancellationToken);
    }
}
