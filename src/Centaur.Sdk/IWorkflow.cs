using System.Text.Json.Nodes;

namespace Centaur.Sdk;

/// <summary>
/// A durable handler registered by name. A run starts from a trigger (a cron schedule, POST /workflows/{name}/runs,
/// a Slack slash command) and is driven by the API's workflow worker. A worker that dies mid-run is replaced and the
/// handler runs again from the top: every <see cref="WorkflowContext.StepAsync{T}"/> that already completed returns
/// its stored result instead of running again, so handlers must reach their steps in the same order each time.
/// </summary>
public interface IWorkflow
{
    /// <summary>1-64 characters of a-z, 0-9, '_' and '-'; a later overlay's workflow with the same name replaces this one.</summary>
    string Name { get; }

    string Description { get; }

    /// <summary>Fires a run once per period across all API replicas; null for workflows started only on demand.</summary>
    WorkflowSchedule? Schedule => null;

    /// <summary>The schema runs' input is checked against before a run is stored; null accepts any object.</summary>
    JsonObject? InputSchema => null;

    Task<JsonNode?> RunAsync(WorkflowContext context, JsonObject input, CancellationToken cancellationToken);
}

/// <summary>
/// A cron schedule: five fields (minute hour day-of-month month day-of-week) or six with seconds first; the time zone
/// is an IANA or Windows id. <see cref="Input"/> is given to every scheduled run.
/// </summary>
public sealed record WorkflowSchedule(string Cron, string TimeZone = "UTC", JsonObject? Input = null);
