namespace Centaur.Api.WebConsole;

internal static partial class ConsoleLog
{
    [LoggerMessage(1901, LogLevel.Information, "Console sign-in by API client '{Name}'")]
    public static partial void SignedIn(this ILogger logger, string name);

    [LoggerMessage(1902, LogLevel.Warning, "Console sign-in refused: {Reason}")]
    public static partial void SignInRefused(this ILogger logger, string reason);
}
