using System.Diagnostics.Metrics;

namespace Centaur.Api.Executions;

internal static class ExecutionMetrics
{
    public static readonly Meter Meter = new("Centaur.Executions");
    public static readonly Counter<long> Finished = Meter.CreateCounter<long>("centaur.executions.finished", description: "by terminal state");
    public static readonly Histogram<double> TurnDuration = Meter.CreateHistogram<double>("centaur.turn.duration", unit: "s");
    public static readonly Histogram<double> TimeToFirstToken = Meter.CreateHistogram<double>("centaur.turn.time_to_first_token", unit: "s");
}
