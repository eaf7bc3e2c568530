using Centaur.Slack.Inbound;

namespace Centaur.Slack;

/// <summary>Every log line of the adapter. Event ids: 61xx inbound, 62xx Web API, 63xx replies, 64xx Socket Mode.</summary>
internal static partial class SlackLog
{
    [LoggerMessage(6101, LogLevel.Information, "Ignored a Slack envelope of type {Type}")]
    public static partial void IgnoredEnvelope(this ILogger logger, string type);

    [LoggerMessage(6102, LogLevel.Warning, "Refused event {EventId}: it is for another Slack app")]
    public static partial void OtherApp(this ILogger logger, string eventId);

    [LoggerMessage(6103, LogLevel.Information, "Delivery {EventId} was already stored (retry {RetryNum}); acknowledged without new work")]
    public static partial void DuplicateDelivery(this ILogger logger, string eventId, int retryNum);

    [LoggerMessage(6104, LogLevel.Warning, "Refused a request to {Path}: signature {Result}")]
    public static partial void SignatureRejected(this ILogger logger, PathString path, SignatureResult result);

    [LoggerMessage(6105, LogLevel.Information, "Delivery {DeliveryId} handled: {Outcome}")]
    public static partial void DeliveryHandled(this ILogger logger, string deliveryId, string outcome);

    [LoggerMessage(6106, LogLevel.Error, "Delivery {DeliveryId} failed for good after {Attempts} attempts")]
    public static partial void DeliveryFailed(this ILogger logger, Exception exception, string deliveryId, int attempts);

    [LoggerMessage(6107, LogLevel.Warning, "Delivery {DeliveryId} failed (attempt {Attempts}); retrying in {Delay}")]
    public static partial void DeliveryRetry(this ILogger logger, Exception exception, string deliveryId, int attempts, TimeSpan delay);

    [LoggerMessage(6108, LogLevel.Warning, "The inbox is unavailable; retrying in {Delay}")]
    public static partial void InboxUnavailable(this ILogger logger, Exception exception, TimeSpan delay);

    [LoggerMessage(6114, LogLevel.Error, "Storing {Count} Slack deliveries failed; they are refused so that Slack delivers them again")]
    public static partial void InboxWriteFailed(this ILogger logger, Exception exception, int count);

    [LoggerMessage(6109, LogLevel.Warning, "{Key} is empty: {What} is off until it is set")]
    public static partial void NotConfigured(this ILogger logger, string key, string what);

    [LoggerMessage(6110, LogLevel.Information, "Message {ClientMessageId} started execution {ExecutionId}")]
    public static partial void TurnStarted(this ILogger logger, string clientMessageId, long executionId);

    [LoggerMessage(6111, LogLevel.Information, "Message {ClientMessageId} arrived while execution {ExecutionId} runs; it waits for the next turn")]
    public static partial void TurnFolded(this ILogger logger, string clientMessageId, long executionId);

    [LoggerMessage(6112, LogLevel.Information, "Stop requested for execution {ExecutionId}")]
    public static partial void StopRequested(this ILogger logger, long executionId);

    [LoggerMessage(6113, LogLevel.Warning, "No thread context for {ThreadKey}: {Error}")]
    public static partial void ContextUnavailable(this ILogger logger, string threadKey, string error);

    [LoggerMessage(6201, LogLevel.Warning, "Slack {Method} rate limited; waiting {Wait} as Retry-After asks")]
    public static partial void SlackRateLimited(this ILogger logger, string method, TimeSpan wait);

    [LoggerMessage(6202, LogLevel.Warning, "Slack {Method} failed on attempt {Attempt}: {Message}")]
    public static partial void SlackTransientFailure(this ILogger logger, string method, int attempt, string message);

    [LoggerMessage(6203, LogLevel.Information, "Slack {Method} failed ({Error}); carrying on without it")]
    public static partial void CosmeticCallFailed(this ILogger logger, string method, string error);

    [LoggerMessage(6301, LogLevel.Error, "Streaming execution {ExecutionId} stopped with an error")]
    public static partial void StreamerFailed(this ILogger logger, Exception exception, long executionId);

    [LoggerMessage(6302, LogLevel.Error, "Execution {ExecutionId} failed: {Error}")]
    public static partial void ExecutionFailed(this ILogger logger, long executionId, string error);

    [LoggerMessage(6303, LogLevel.Warning, "Live edit of execution {ExecutionId} failed: {Error}")]
    public static partial void LiveEditFailed(this ILogger logger, long executionId, string error);

    [LoggerMessage(6304, LogLevel.Information, "Event stream of execution {ExecutionId} ended early at {Cursor}; reconnecting ({Message})")]
    public static partial void StreamReconnect(this ILogger logger, long executionId, long cursor, string message);

    [LoggerMessage(6305, LogLevel.Information, "Part {Part} of execution {ExecutionId} was emptied: the final answer is shorter than the stream")]
    public static partial void PartEmptied(this ILogger logger, long executionId, int part);

    [LoggerMessage(6306, LogLevel.Information, "Execution {ExecutionId} delivered ({State}, {Parts} messages)")]
    public static partial void Delivered(this ILogger logger, long executionId, string state, int parts);

    [LoggerMessage(6307, LogLevel.Warning, "Part {Part} of execution {ExecutionId} had been posted before a crash; found it by its metadata")]
    public static partial void PartRecovered(this ILogger logger, long executionId, int part);

    [LoggerMessage(6308, LogLevel.Warning, "Centaur.Api has no delivery outbox (HTTP {Status}); final answers are written from the event stream")]
    public static partial void OutboxUnsupported(this ILogger logger, int status);

    [LoggerMessage(6309, LogLevel.Warning, "Final delivery loop failed; retrying in {Delay}")]
    public static partial void DeliveryLoopFailed(this ILogger logger, Exception exception, TimeSpan delay);

    [LoggerMessage(6310, LogLevel.Information, "Resumed {Count} replies that were being written before the restart")]
    public static partial void RepliesResumed(this ILogger logger, int count);

    [LoggerMessage(6311, LogLevel.Warning, "Slack refused native streaming ({Error}); answers are streamed by editing messages instead")]
    public static partial void NativeStreamingUnavailable(this ILogger logger, string error);

    [LoggerMessage(6401, LogLevel.Information, "Socket Mode connection {Connection} is open ({Host})")]
    public static partial void SocketConnected(this ILogger logger, int connection, string host);

    [LoggerMessage(6402, LogLevel.Information, "Socket Mode connection {Connection} asked to reconnect: {Reason}")]
    public static partial void SocketDisconnectRequested(this ILogger logger, int connection, string reason);

    [LoggerMessage(6403, LogLevel.Warning, "Socket Mode connection {Connection} failed; reconnecting in {Delay}")]
    public static partial void SocketFailed(this ILogger logger, Exception exception, int connection, TimeSpan delay);

    [LoggerMessage(6404, LogLevel.Error, "Socket Mode is disabled for this app (link_disabled); connection {Connection} waits {Delay} before trying again")]
    public static partial void SocketLinkDisabled(this ILogger logger, int connection, TimeSpan delay);

    [LoggerMessage(6405, LogLevel.Warning, "Socket Mode envelope {EnvelopeId} could not be stored; not acknowledged so Slack retries it")]
    public static partial void EnvelopeNotStored(this ILogger logger, Exception exception, string envelopeId);

    [LoggerMessage(6501, LogLevel.Information, "{User} allowed {Host} for thread {ThreadKey}")]
    public static partial void EgressAllowed(this ILogger logger, string user, string host, string threadKey);

    [LoggerMessage(6502, LogLevel.Information, "{User} may not allow {Host} for thread {ThreadKey} (not an egress admin)")]
    public static partial void EgressAllowRefused(this ILogger logger, string user, string host, string threadKey);

    [LoggerMessage(6503, LogLevel.Warning, "Centaur.Api refused to allow {Host} for thread {ThreadKey} ({Code})")]
    public static partial void EgressAllowFailed(this ILogger logger, string host, string threadKey, string code);

    [LoggerMessage(6504, LogLevel.Information, "Posted the {Kind} notice of execution {ExecutionId}")]
    public static partial void NoticePosted(this ILogger logger, long executionId, string kind);
}
