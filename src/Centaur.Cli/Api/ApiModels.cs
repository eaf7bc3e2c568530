using System.Text.Json.Nodes;

namespace Centaur.Cli.Api;

// The API's JSON, snake_case on the wire. Only the fields the CLI shows; unknown fields are ignored.

internal sealed record Session(string ThreadKey, string State, string Backend, string? SandboxId, string Harness,
    string? Persona, int AssignmentGeneration, int Attempts);

internal sealed record MessageAccepted(long MessageId, string ThreadKey, bool Duplicate);

internal sealed record Execution(long ExecutionId, string ThreadKey, string State, string? Result, JsonNode? Error,
    JsonNode? Usage, DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt);

internal sealed record ThreadSummary(string ThreadKey, string Harness, string? Persona, string SandboxState,
    string? LastExecutionState, long? LastExecutionId, DateTimeOffset LastActivityAt, DateTimeOffset CreatedAt);

internal sealed record CreatedKey(string Name, string Key, string[] Scopes);

internal sealed record EgressAuditRow(long Id, DateTimeOffset CreatedAt, string? ThreadKey, string? SandboxId, string Mode,
    string Method, string Scheme, string Host, int Port, string Path, int Status, long BytesIn, long BytesOut,
    double DurationMs, string[] Bindings, string Decision, string? Reason);

internal sealed record EgressAuditPage(IReadOnlyList<EgressAuditRow> Items, long NextAfterId);

/// <summary>One event of a thread's stream (GET /agent/threads/{key}/events).</summary>
internal sealed record StreamEvent(long EventId, long ExecutionId, string Type, JsonObject Data, DateTimeOffset CreatedAt, string Json)
{
    public string? State => Type == "execution_state" ? Data["state"]?.GetValue<string>() : null;

    public bool IsTerminal => State is "succeeded" or "failed" or "cancelled" or "interrupted";

    public string? Text => Data["text"]?.GetValue<string>();
}
