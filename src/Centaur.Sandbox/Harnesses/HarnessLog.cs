using Microsoft.Extensions.Logging;

namespace Centaur.Sandbox.Harnesses;

internal static partial class HarnessLog
{
    [LoggerMessage(100, LogLevel.Information, "started {Harness} as pid {Pid}")]
    public static partial void ProcessStarted(ILogger logger, string harness, int pid);

    [LoggerMessage(101, LogLevel.Debug, "harness stdout (not JSON): {Text}")]
    public static partial void NonJsonOutput(ILogger logger, string text);

    [LoggerMessage(102, LogLevel.Debug, "harness stderr: {Text}")]
    public static partial void Stderr(ILogger logger, string text);

    [LoggerMessage(103, LogLevel.Information, "{Harness} session {SessionId} ({Mode})")]
    public static partial void Session(ILogger logger, string harness, string sessionId, string mode);

    [LoggerMessage(104, LogLevel.Warning, "{Harness} exited during a turn: {Reason}")]
    public static partial void ExitedMidTurn(ILogger logger, string harness, string reason);

    [LoggerMessage(105, LogLevel.Information, "{Harness}: interrupting turn {TurnId}")]
    public static partial void Interrupting(ILogger logger, string harness, string turnId);

    [LoggerMessage(106, LogLevel.Warning, "{Harness}: unexpected request {Method} answered with an error")]
    public static partial void UnexpectedRequest(ILogger logger, string harness, string method);
}
