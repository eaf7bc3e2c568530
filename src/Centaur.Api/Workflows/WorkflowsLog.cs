namespace Centaur.Api.Workflows;

internal static partial class WorkflowsLog
{
    [LoggerMessage(2001, LogLevel.Warning, "Claiming workflow runs failed; retrying in {Delay}")]
    public static partial void ClaimFailed(ILogger logger, Exception exception, TimeSpan delay);

    [LoggerMessage(2002, LogLevel.Information, "Running workflow run {RunId} ({Workflow}), attempt {Attempt}, {Completed} step(s) already stored")]
    public static partial void Running(ILogger logger, long runId, string workflow, int attempt, int completed);

    [LoggerMessage(2003, LogLevel.Information, "Workflow run {RunId} sleeps until {WakeAt}")]
    public static partial void Sleeping(ILogger logger, long runId, DateTimeOffset wakeAt);

    [LoggerMessage(2004, LogLevel.Information, "Stopped running workflow run {RunId}: lease lost or shutting down")]
    public static partial void Stopped(ILogger logger, long runId);

    [LoggerMessage(2005, LogLevel.Warning, "Workflow run {RunId} failed (failure {Failures} of {MaxFailures})")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, long runId, int failures, int maxFailures);

    [LoggerMessage(2006, LogLevel.Information, "Workflow run {RunId} ({Workflow}) finished: {State}")]
    public static partial void Finished(ILogger logger, long runId, string workflow, string state);

    [LoggerMessage(2007, LogLevel.Warning, "Renewing the lease of workflow run {RunId} failed")]
    public static partial void RenewFailed(ILogger logger, Exception exception, long runId);

    [LoggerMessage(2008, LogLevel.Information, "Schedule of {Workflow} fired for {FireAt}: run {RunId}")]
    public static partial void ScheduleFired(ILogger logger, string workflow, DateTimeOffset fireAt, long? runId);

    [LoggerMessage(2009, LogLevel.Warning, "Firing workflow schedules failed; retrying")]
    public static partial void ScheduleFailed(ILogger logger, Exception exception);
}
