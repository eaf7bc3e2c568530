using System.ComponentModel.DataAnnotations;

namespace Centaur.Api.Sandboxes;

/// <summary>Sandbox lifecycle settings (section "Sandbox").</summary>
internal sealed class SandboxOptions
{
    public const string Section = "Sandbox";

    public static readonly string[] Harnesses = ["claude-code", "codex", "pi", "amp"];

    /// <summary>local (bubblewrap on this machine), process (no isolation: development and tests only), kubernetes.</summary>
    [Required]
    public string Backend { get; set; } = "local";

    [Required]
    public string DefaultHarness { get; set; } = "claude-code";

    /// <summary>Ready sandboxes kept unassigned so a new thread does not pay a cold start.</summary>
    [Range(0, 1000)]
    public int WarmPoolSize { get; set; }

    /// <summary>At this many live sandboxes the oldest idle one is stopped before a cold spawn.</summary>
    [Range(1, 100_000)]
    public int MaxSandboxes { get; set; } = 50;

    /// <summary>IDLE_TTL_S: a sandbox idle for longer is stopped (its thread resumes in a new one).</summary>
    [Range(1, 30 * 24 * 3600)]
    public int IdleTtlSeconds { get; set; } = 24 * 3600;

    [Range(1, 3600)]
    public int ReconcileIntervalSeconds { get; set; } = 60;

    [Range(1, 3600)]
    public int StartTimeoutSeconds { get; set; } = 120;

    /// <summary>
    /// How long a thread may stay "spawning" before the reconcile tick counts the sandboxes made for it and named by
    /// no session as orphans (an API that died between starting or claiming a sandbox and binding it). Longer than
    /// the slowest setup (Kubernetes: Sandbox:Kubernetes:SetupTimeout).
    /// </summary>
    [Range(1, 24 * 3600)]
    public int OrphanGraceSeconds { get; set; } = 15 * 60;
}
