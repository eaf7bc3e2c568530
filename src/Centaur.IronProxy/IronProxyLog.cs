using Centaur.IronProxy.Policy;

namespace Centaur.IronProxy;

/// <summary>The proxy's log messages. Never a header value, a secret or a token: names, hosts and decisions only.</summary>
internal static partial class IronProxyLog
{
    [LoggerMessage(5001, LogLevel.Information, "Egress policy version {Version} loaded ({Mode}, {Hosts} hosts, {Bindings} bindings)")]
    public static partial void PolicyLoaded(this ILogger logger, long version, PolicyMode mode, int hosts, int bindings);

    [LoggerMessage(5002, LogLevel.Warning, "Egress policy load failed on attempt {Attempt}; retrying in {Delay}")]
    public static partial void PolicyLoadFailed(this ILogger logger, Exception exception, int attempt, TimeSpan delay);

    [LoggerMessage(5003, LogLevel.Debug, "TLS handshake for a tunnel to {Host} failed: {Reason}")]
    public static partial void TunnelHandshakeFailed(this ILogger logger, string host, string reason);

    [LoggerMessage(5004, LogLevel.Error, "Writing {Rows} audit rows failed ({Dropped} dropped so far)")]
    public static partial void AuditWriteFailed(this ILogger logger, Exception exception, int rows, long dropped);

    [LoggerMessage(5005, LogLevel.Error, "The side-effect ledger could not be written for a request to {Host}; refused")]
    public static partial void LedgerWriteFailed(this ILogger logger, Exception exception, string host);

    [LoggerMessage(5006, LogLevel.Information, "Certificate authority ready in {Directory}")]
    public static partial void CertificateAuthorityReady(this ILogger logger, string directory);

    [LoggerMessage(5007, LogLevel.Information, "Listening for sandboxes on {Endpoint}")]
    public static partial void Listening(this ILogger logger, string endpoint);

    [LoggerMessage(5008, LogLevel.Information, "Thread {ThreadKey} was told that {Host} is not allowed (egress_blocked)")]
    public static partial void BlockedHostNotified(this ILogger logger, string threadKey, string host);

    [LoggerMessage(5009, LogLevel.Warning, "The egress_blocked notice for {Host} could not be written")]
    public static partial void BlockedHostNoticeFailed(this ILogger logger, Exception exception, string host);

    [LoggerMessage(5010, LogLevel.Warning, "Listening for turn trace changes failed on attempt {Attempt}; retrying in {Delay}")]
    public static partial void TurnTraceListenerFailed(this ILogger logger, Exception exception, int attempt, TimeSpan delay);

    [LoggerMessage(5011, LogLevel.Warning, "A token of sandbox {SandboxId} was presented from {Remote}, but it is bound to {Address}: refused (407)")]
    public static partial void TokenFromOtherAddress(this ILogger logger, string sandboxId, string remote, string address);
}
