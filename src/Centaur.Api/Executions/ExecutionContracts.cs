using System.Text.Json.Nodes;

namespace Centaur.Api.Executions;

internal sealed record ExecuteRequest(string? ThreadKey, string? IdempotencyKey);

internal sealed record ExecutionResponse(
    long ExecutionId, string ThreadKey, string State, string IdempotencyKey, string? TurnId, int Attempts,
    long? ResumeOf, string? Result, JsonNode? Error, JsonNode? Usage,
    DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt);

internal static class ExecutionStates
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";
    public const string Interrupted = "interrupted";

    public static bool IsTerminal(string state) => state is Succeeded or Failed or Cancelled or Interrupted;
}

/// <summary>The event types clients see (projected from the harness wire; the raw line is kept beside each).</summary>
internal static class EventTypes
{
    public const string ExecutionState = "execution_state";
    public const string AssistantDelta = "assistant_delta";
    public const string AssistantMessage = "assistant_message";
    public const string ToolUse = "tool_use";
    public const string ToolResult = "tool_result";
    public const string Status = "status";
    public const string Error = "error";
    public const string Usage = "usage";
}
