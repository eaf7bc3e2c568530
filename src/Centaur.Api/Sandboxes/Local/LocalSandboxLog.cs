namespace Centaur.Api.Sandboxes.Local;

internal static partial class LocalSandboxLog
{
    [LoggerMessage(4000, LogLevel.Information, "local sandboxes: {Isolation}; resource limits: {Limits}")]
    public static partial void Configured(ILogger logger, string isolation, string limits);

    [LoggerMessage(4001, LogLevel.Warning, "local sandboxes run UNISOLATED (bubblewrap not found, Sandbox:AllowUnisolated=true): development only")]
    public static partial void Unisolated(ILogger logger);

    [LoggerMessage(4002, LogLevel.Information, "sandbox {SandboxId} started (pid {Pid}) for {ThreadKey}")]
    public static partial void Started(ILogger logger, string sandboxId, int pid, string threadKey);

    [LoggerMessage(4003, LogLevel.Information, "sandbox {SandboxId} ready for {ThreadKey} in {Milliseconds} ms")]
    public static partial void Ready(ILogger logger, string sandboxId, string threadKey, long milliseconds);

    [LoggerMessage(4004, LogLevel.Information, "sandbox {SandboxId} exited with code {ExitCode}")]
    public static partial void Exited(ILogger logger, string sandboxId, int exitCode);

    [LoggerMessage(4005, LogLevel.Information, "sandbox {SandboxId}: {Line}")]
    public static partial void Stderr(ILogger logger, string sandboxId, string line);

    [LoggerMessage(4006, LogLevel.Warning, "sandbox {SandboxId} wrote a line that is not a JSON object; dropped")]
    public static partial void BadLine(ILogger logger, string sandboxId);

    [LoggerMessage(4007, LogLevel.Information, "removed {Count} leftover warm sandbox folders from an earlier run")]
    public static partial void Reaped(ILogger logger, int count);

    [LoggerMessage(4008, LogLevel.Warning, "api forward for sandboxes failed: {Reason}")]
    public static partial void ApiForwardFailed(ILogger logger, string reason);

    [LoggerMessage(4009, LogLevel.Debug, "sandbox {SandboxId} launched in {Milliseconds:0.0} ms (home, resource limits, bubblewrap command, process start)")]
    public static partial void Launched(ILogger logger, string sandboxId, double milliseconds);
}
