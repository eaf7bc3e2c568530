namespace Centaur.Api.Sandboxes.Kubernetes;

internal static partial class KubernetesSandboxLog
{
    [LoggerMessage(7001, LogLevel.Information, "Sandbox pod {Pod} created for thread hash {ThreadHash}")]
    public static partial void PodCreated(this ILogger logger, string pod, string threadHash);

    [LoggerMessage(7002, LogLevel.Information, "Sandbox pod {Pod} is ready after {ElapsedMs} ms")]
    public static partial void PodReady(this ILogger logger, string pod, long elapsedMs);

    [LoggerMessage(7003, LogLevel.Information, "Warm pod {Pod} claimed for thread hash {ThreadHash}")]
    public static partial void WarmPodClaimed(this ILogger logger, string pod, string threadHash);

    [LoggerMessage(7004, LogLevel.Debug, "Warm pod {Pod} was claimed by another replica first")]
    public static partial void WarmPodClaimLost(this ILogger logger, string pod);

    [LoggerMessage(7005, LogLevel.Information, "Warm pool: {Created} pods created, {Retired} retired ({Live} of {Target} live, generation {Generation})")]
    public static partial void PoolRefilled(this ILogger logger, int created, int retired, int live, int target, string generation);

    [LoggerMessage(7006, LogLevel.Warning, "Warm pool refill failed (attempt {Attempt}); retrying in {Delay}")]
    public static partial void PoolRefillFailed(this ILogger logger, Exception exception, int attempt, TimeSpan delay);

    [LoggerMessage(7007, LogLevel.Information, "Sandbox capacity reached ({Count} of {Max}): evicted idle pod {Pod} ({Kind})")]
    public static partial void Evicted(this ILogger logger, int count, int max, string pod, string kind);

    [LoggerMessage(7008, LogLevel.Information, "Sandbox pod {Pod} deleted")]
    public static partial void PodDeleted(this ILogger logger, string pod);

    [LoggerMessage(7009, LogLevel.Warning, "Sandbox pod {Pod} did not start: {Reason}")]
    public static partial void PodFailedToStart(this ILogger logger, string pod, string reason);

    [LoggerMessage(7010, LogLevel.Warning, "Sandbox {Pod} printed a line of {Length} bytes that is not a JSON object; skipped")]
    public static partial void NonJsonLine(this ILogger logger, string pod, int length);

    [LoggerMessage(7011, LogLevel.Debug, "Sandbox {Pod} stderr: {Line}")]
    public static partial void SandboxStderr(this ILogger logger, string pod, string line);

    [LoggerMessage(7012, LogLevel.Information, "Wire to sandbox {Pod} ended: {Reason}")]
    public static partial void WireEnded(this ILogger logger, string pod, string reason);

    [LoggerMessage(7013, LogLevel.Debug, "Could not record activity on sandbox pod {Pod}")]
    public static partial void TouchFailed(this ILogger logger, Exception exception, string pod);

    [LoggerMessage(7014, LogLevel.Warning, "Claiming a warm pod failed; cold-starting instead")]
    public static partial void WarmClaimFailed(this ILogger logger, Exception exception);
}
