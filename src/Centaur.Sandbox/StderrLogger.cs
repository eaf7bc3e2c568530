using Microsoft.Extensions.Logging;

namespace Centaur.Sandbox;

/// <summary>
/// The sandbox's log goes to stderr (stdout is the wire). The backend collects stderr into the API's own logs, so a
/// plain one-line format is enough, and it keeps start-up free of the logging framework's cost.
/// </summary>
internal sealed class StderrLogger(string category, LogLevel minimum) : ILogger
{
    private static readonly Lock s_lock = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel))
        {
            return;
        }

        var line = $"{DateTimeOffset.UtcNow:HH:mm:ss.fff} {Level(logLevel)} {category}: {formatter(state, exception)}";
        if (exception is not null)
        {
            line += " | " + exception.GetType().Name + ": " + exception.Message;
        }

        lock (s_lock)
        {
            Console.Error.WriteLine(line);
        }
    }

    public static ILogger Create(string category) =>
        new StderrLogger(category, Environment.GetEnvironmentVariable("CENTAUR_SANDBOX_LOG") == "debug" ? LogLevel.Debug : LogLevel.Information);

    private static string Level(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        _ => "crit",
    };
}
