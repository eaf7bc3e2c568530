using System.ComponentModel.DataAnnotations;

namespace Centaur.Api.Workflows;

/// <summary>The workflow worker's settings (section "Workflows").</summary>
internal sealed class WorkflowOptions
{
    public const string Section = "Workflows";

    /// <summary>A worker that stops renewing its lease for this long loses the run to another worker, which re-runs it.</summary>
    [Range(2, 600)]
    public int LeaseSeconds { get; set; } = 30;

    [Range(1, 256)]
    public int Concurrency { get; set; } = 8;

    /// <summary>How often idle workers look for due runs (new runs of this process wake them at once).</summary>
    [Range(50, 60_000)]
    public int PollMilliseconds { get; set; } = 1000;

    /// <summary>A handler that throws is retried with backoff; after this many failures the run fails.</summary>
    [Range(1, 100)]
    public int MaxFailures { get; set; } = 3;

    /// <summary>A run re-claimed this many times (crash loops) fails instead of running again.</summary>
    [Range(1, 10_000)]
    public int MaxAttempts { get; set; } = 100;

    /// <summary>Sleeps up to this long wait in-process; longer ones release the run until it is due.</summary>
    [Range(0, 3600)]
    public int InlineSleepSeconds { get; set; } = 2;

    /// <summary>Set false on replicas that should not fire cron schedules (any number may: each period fires once).</summary>
    public bool Scheduler { get; set; } = true;
}
