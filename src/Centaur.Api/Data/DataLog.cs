namespace Centaur.Api.Data;

internal static partial class DataLog
{
    [LoggerMessage(1001, LogLevel.Information, "Database schema is current ({Applied} migrations applied now)")]
    public static partial void MigrationsApplied(this ILogger logger, int applied);

    [LoggerMessage(1002, LogLevel.Warning, "Migrations failed on attempt {Attempt}; retrying in {Delay}")]
    public static partial void MigrationRetry(this ILogger logger, Exception exception, int attempt, TimeSpan delay);
}
