using Centaur.Sdk;
using Cronos;

namespace Centaur.Api.Workflows;

/// <summary>A parsed <see cref="WorkflowSchedule"/>: five cron fields, or six with seconds first, in a time zone.</summary>
internal sealed record CronSchedule(CronExpression Expression, TimeZoneInfo TimeZone)
{
    /// <summary>Null when it parsed; otherwise what is wrong with it.</summary>
    public static string? TryParse(WorkflowSchedule schedule, out CronSchedule? parsed)
    {
        parsed = null;
        var fields = schedule.Cron.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        if (fields is not (5 or 6))
        {
            return $"'{schedule.Cron}' has {fields} fields; a cron schedule has 5 (minute first) or 6 (seconds first)";
        }

        try
        {
            var expression = CronExpression.Parse(schedule.Cron, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
            var zone = schedule.TimeZone == "UTC" ? TimeZoneInfo.Utc : TimeZoneInfo.FindSystemTimeZoneById(schedule.TimeZone);
            parsed = new CronSchedule(expression, zone);
            return null;
        }
        catch (CronFormatException ex)
        {
            return ex.Message;
        }
        catch (TimeZoneNotFoundException)
        {
            return $"time zone '{schedule.TimeZone}' is not known";
        }
    }

    /// <summary>The first fire time strictly after <paramref name="after"/>.</summary>
    public DateTimeOffset? Next(DateTimeOffset after) => Expression.GetNextOccurrence(after, TimeZone);
}
