using System.ComponentModel.DataAnnotations;

namespace Centaur.Api;

/// <summary>The control plane's settings (section "Centaur").</summary>
internal sealed class CentaurOptions
{
    public const string Section = "Centaur";

    /// <summary>HMAC key for sbx1 sandbox tokens; empty = the API runs degraded and cannot start turns.</summary>
    public string? SandboxTokenKey { get; set; }

    /// <summary>Largest message text accepted, in bytes of UTF-8.</summary>
    [Range(1, 64 * 1024 * 1024)]
    public int MaxTextBytes { get; set; } = 1024 * 1024;

    /// <summary>How often a turn is replayed into a replacement sandbox before the execution fails.</summary>
    [Range(1, 10)]
    public int MaxTurnAttempts { get; set; } = 3;

    /// <summary>A worker that stops renewing its lease for this long loses the execution to another worker.</summary>
    [Range(2, 600)]
    public int LeaseSeconds { get; set; } = 15;

    [Range(1, 1024)]
    public int WorkerConcurrency { get; set; } = 32;

    /// <summary>A turn that produces no turn.done within this time fails (harness CLIs can hang on network errors).</summary>
    [Range(5, 24 * 3600)]
    public int TurnTimeoutSeconds { get; set; } = 1800;

    [Range(1, 300)]
    public int HeartbeatSeconds { get; set; } = 15;

    [Range(1, 100_000)]
    public int MaxStreamsPerClient { get; set; } = 2000;

    /// <summary>The URL sandboxes use to reach this API (tool gateway); defaults to the API's own first address.</summary>
    public string? PublicUrl { get; set; }
}
