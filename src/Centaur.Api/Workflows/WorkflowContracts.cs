using System.Text.Json.Nodes;

namespace Centaur.Api.Workflows;

internal sealed record WorkflowRun(
    long RunId, string Workflow, string Trigger, string State, string? IdempotencyKey, JsonObject Input, JsonNode? Result,
    JsonNode? Error, int Attempts, int Failures, DateTimeOffset? WakeAt, string? CreatedBy, DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt);

internal sealed record WorkflowStep(
    string Name, string State, JsonNode? Result, string? Error, int Attempts, DateTimeOffset StartedAt, DateTimeOffset? CompletedAt);

internal sealed record WorkflowRunDetail(WorkflowRun Run, IReadOnlyList<WorkflowStep> Steps);

internal sealed record WorkflowListing(string Name, string Description, string Source, JsonObject? Schedule, JsonObject? InputSchema);

internal sealed record StartRunRequest(JsonObject? Input, string? IdempotencyKey);

/// <summary>What the Slack adapter forwards from a slash command such as <c>/centaur run nightly_report {"team":"web"}</c>.</summary>
internal sealed record SlashCommandRequest(
    string? Command, string? Text, string? UserId, string? UserName, string? ChannelId, string? TeamId, string? TriggerId);

internal sealed record SlashCommandResponse(string ResponseType, string Text, long? RunId);

internal static class WorkflowStates
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Sleeping = "sleeping";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";

    public static bool IsTerminal(string state) => state is Succeeded or Failed or Cancelled;
}

internal static class WorkflowTriggers
{
    public const string Http = "http";
    public const string Cron = "cron";
    public const string Slack = "slack";
}

/// <summary>A handler asked to wait past the inline limit: the run sleeps until <see cref="WakeAt"/> and is re-run then.</summary>
internal sealed class WorkflowSuspendedException(DateTimeOffset wakeAt) : Exception($"sleeping until {wakeAt:O}")
{
    public DateTimeOffset WakeAt { get; } = wakeAt;
}

/// <summary>Another worker owns the run now (this one's lease expired); stop without writing anything.</summary>
internal sealed class WorkflowLeaseLostException() : Exception("the workflow run's lease was lost");
