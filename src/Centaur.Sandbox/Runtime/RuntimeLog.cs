using Microsoft.Extensions.Logging;

namespace Centaur.Sandbox.Runtime;

internal static partial class RuntimeLog
{
    [LoggerMessage(300, LogLevel.Warning, "ignoring a wire line of type {Type}")]
    public static partial void UnknownLine(ILogger logger, string type);

    [LoggerMessage(301, LogLevel.Error, "setup failed: {Reason}")]
    public static partial void SetupFailed(ILogger logger, string reason);

    [LoggerMessage(302, LogLevel.Error, "turn {TurnId} failed: {Reason}")]
    public static partial void TurnFailed(ILogger logger, string turnId, string reason);

    [LoggerMessage(303, LogLevel.Information, "cancelling turn {TurnId}")]
    public static partial void Cancelling(ILogger logger, string turnId);
}
