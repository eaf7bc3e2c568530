using System.Text.Json.Nodes;

namespace Centaur.Api.Threads;

internal sealed record SpawnRequest(string? ThreadKey, string? Harness, string? Persona, string? Repo);

internal sealed record SessionResponse(
    string ThreadKey, string State, string Backend, string? SandboxId, string Harness, string? Persona, string? Repo,
    int AssignmentGeneration, int Attempts, DateTimeOffset LastActivityAt);

internal sealed record MessageRequest(string? ThreadKey, string? Text, string? Author, string? ClientMessageId, JsonArray? Attachments);

internal sealed record MessageResponse(long MessageId, string ThreadKey, bool Duplicate);

internal sealed record ThreadSummary(
    string ThreadKey, string Harness, string? Persona, string SandboxState, string? LastExecutionState,
    long? LastExecutionId, DateTimeOffset LastActivityAt, DateTimeOffset CreatedAt);

internal sealed record TranscriptMessage(long Id, string Role, string? Author, string Text, long? ExecutionId, DateTimeOffset CreatedAt);

internal sealed record ThreadDetail(
    SessionResponse Session, IReadOnlyList<TranscriptMessage> Transcript, IReadOnlyList<Executions.ExecutionResponse> Executions);
