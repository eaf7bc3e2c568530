namespace Centaur.IronProxy.Audit;

/// <summary>One egress_audit row: names, decisions and sizes only, never a header value or a query string.</summary>
internal sealed record AuditRecord(
    DateTimeOffset CreatedAt,
    string? ThreadKey,
    string? SandboxId,
    string Mode,
    string Method,
    string Scheme,
    string Host,
    int Port,
    string Path,
    int Status,
    long BytesIn,
    long BytesOut,
    double DurationMs,
    string[] Bindings,
    string Decision,
    string? Reason);
