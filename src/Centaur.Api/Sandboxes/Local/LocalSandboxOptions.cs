using System.ComponentModel.DataAnnotations;

namespace Centaur.Api.Sandboxes.Local;

/// <summary>The local (bubblewrap) backend's settings, section <c>Sandbox</c>.</summary>
internal sealed class LocalSandboxOptions
{
    public const string Section = "Sandbox";

    /// <summary>
    /// Per-thread homes (threads/&lt;hash&gt;/home, kept across sandbox restarts: harness sessions live there), warm
    /// pool homes and sockets. Default: &lt;Centaur:StateDirectory&gt;/sandboxes or ~/.local/state/centaur/sandboxes.
    /// </summary>
    public string? StateDirectory { get; set; }

    /// <summary>Run sandboxes as plain processes when bubblewrap is missing. Never isolated: development only.</summary>
    public bool AllowUnisolated { get; set; }

    public string BubblewrapPath { get; set; } = "bwrap";

    /// <summary>Where scripts/install-harnesses.sh put the pinned CLIs (mounted read-only at /opt/centaur/harnesses).</summary>
    [Required]
    public string HarnessDirectory { get; set; } = "/opt/centaur/harnesses";

    /// <summary>Centaur.Sandbox's build output; default: the copy next to the API (sandbox-runtime/).</summary>
    public string? RuntimeDirectory { get; set; }

    /// <summary>The egress proxy's Unix socket (IronProxy:UnixSocketPath); the sandbox's only way out.</summary>
    public string? EgressSocket { get; set; }

    /// <summary>The proxy's CA certificate (PEM, never its key), for HTTPS_PROXY (MITM) mode.</summary>
    public string? ProxyCaFile { get; set; }

    /// <summary>
    /// Base-URL mode: where the harnesses send LLM calls instead of the vendor's host. "{egress}" is the egress
    /// forward inside the sandbox (e.g. "{egress}/anthropic" for the proxy's reverse mode). Empty: vendor hosts via HTTPS_PROXY.
    /// </summary>
    public string? AnthropicBaseUrl { get; set; }

    public string? OpenAiBaseUrl { get; set; }

    public string? AmpUrl { get; set; }

    /// <summary>The API's own URL for the /tools forward; default: the server's first http address.</summary>
    public string? ApiUrl { get; set; }

    /// <summary>An org overlay folder: AGENTS.md (org prompt), personas/&lt;name&gt;.md, skills/&lt;skill&gt;/.</summary>
    public string? OverlayDirectory { get; set; }

    [Range(64, 1_048_576)]
    public int MemoryLimitMb { get; set; } = 4096;

    [Range(16, 1_000_000)]
    public int PidsLimit { get; set; } = 1024;

    /// <summary>CPU quota in percent of one core (200 = two cores).</summary>
    [Range(10, 100_000)]
    public int CpuPercent { get; set; } = 200;

    [Range(64, 1_048_576)]
    public int OpenFilesLimit { get; set; } = 8192;

    [Range(1, 600)]
    public int StartTimeoutSeconds { get; set; } = 30;

    /// <summary>Clone and workspace assembly can take a while for a large repo.</summary>
    [Range(1, 3600)]
    public int SetupTimeoutSeconds { get; set; } = 600;

    [Range(1, 86_400)]
    public int TurnTimeoutSeconds { get; set; } = 1800;
}
