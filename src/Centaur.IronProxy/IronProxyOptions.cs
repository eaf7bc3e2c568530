using System.ComponentModel.DataAnnotations;

namespace Centaur.IronProxy;

/// <summary>The proxy's own settings (section <c>IronProxy</c>). Policy lives in Postgres, not here.</summary>
internal sealed class IronProxyOptions
{
    public const string Section = "IronProxy";

    /// <summary>Holds ca.pem and ca.key (0600). Created once and kept, so sandboxes keep trusting a restarted proxy.</summary>
    [Required]
    public string CaDirectory { get; set; } = Path.Combine(
        Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create),
        "centaur", "ironproxy");

    /// <summary>A Unix socket to listen on besides TCP: local sandboxes reach the proxy only through it (bind-mounted).</summary>
    public string? UnixSocketPath { get; set; }

    /// <summary>Deadline for a CONNECT head and the TLS handshake that follows (Kestrel's header timeout does not cover them).</summary>
    [Range(1, 300)]
    public int HandshakeTimeoutSeconds { get; set; } = 15;

    /// <summary>Leaf certificate contexts kept (about 30 KB each); a wildcard allowlist could otherwise grow it without bound.</summary>
    [Range(16, 1_000_000)]
    public int CertificateCacheSize { get; set; } = 4096;

    /// <summary>Longest silence allowed on an upstream exchange: LLM streams pause between events.</summary>
    [Range(1, 86_400)]
    public int UpstreamActivityTimeoutSeconds { get; set; } = 600;

    /// <summary>Reverse-mode routes besides the database's: prefix → base URL (e.g. anthropic → https://api.anthropic.com).</summary>
    public Dictionary<string, string> Routes { get; set; } = [];

    [Range(1, 10_000)]
    public int AuditBatchSize { get; set; } = 1000;

    /// <summary>
    /// How long audit rows gather before a write: a COPY costs its round trips whatever its size, and written as soon
    /// as they queued up, a busy proxy spent a tenth of its CPU starting COPYs of a handful of rows (bench/proxy).
    /// </summary>
    [Range(0, 60_000)]
    public int AuditFlushMilliseconds { get; set; } = 200;

    /// <summary>Audit rows waiting to be written; past it rows are dropped and counted, never the request held up.</summary>
    [Range(100, 10_000_000)]
    public int AuditQueueCapacity { get; set; } = 100_000;
}

/// <summary>The key shared with the API that signs sandbox tokens (AppHost parameter sandbox-token-key).</summary>
internal sealed class SandboxTokenOptions
{
    public const string Section = "Centaur";

    [Required]
    [MinLength(16)]
    public string SandboxTokenKey { get; set; } = "";
}
