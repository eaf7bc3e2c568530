using System.Diagnostics.Metrics;

namespace Centaur.Api.Sandboxes;

/// <summary>Sandbox lifecycle metrics (exported through OpenTelemetry: the "Centaur.*" meters).</summary>
internal static class SandboxMetrics
{
    public static readonly Meter Meter = new("Centaur.Sandboxes");
    public static readonly Counter<long> Spawns = Meter.CreateCounter<long>("centaur.sandbox.spawns");
    public static readonly Counter<long> WarmClaims = Meter.CreateCounter<long>("centaur.sandbox.warm_claims");
    public static readonly Counter<long> Evictions = Meter.CreateCounter<long>("centaur.sandbox.evictions");
    public static readonly Counter<long> Replays = Meter.CreateCounter<long>("centaur.turn.replays");
    public static readonly Counter<long> Reconciled = Meter.CreateCounter<long>("centaur.reconcile.actions", description: "by step A-D");
}
