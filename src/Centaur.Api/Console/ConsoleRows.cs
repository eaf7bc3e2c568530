using System.Text.Json.Nodes;

namespace Centaur.Api.WebConsole;

// What the console's pages show, as ConsoleQueries reads it.

internal sealed record ConsoleOverview(
    long Threads, IReadOnlyDictionary<string, long> Sandboxes, IReadOnlyDictionary<string, long> Executions24h, long QueuedOrRunning);

internal sealed record ConsoleEvent(long Id, long ExecutionId, string Type, JsonObject Data, DateTimeOffset CreatedAt);

internal sealed record ConsoleToolCall(long Id, string Tool, string Method, string Outcome, double DurationMs, long? ExecutionId,
    string? TurnId, string SandboxId, DateTimeOffset CreatedAt);

internal sealed record ConsoleSideEffect(long Id, string Source, string Method, string Target, long? ExecutionId, string? TurnId, DateTimeOffset CreatedAt);

internal sealed record ConsoleEgress(long Id, DateTimeOffset CreatedAt, string Method, string Host, int Port, string Path, int Status,
    string Decision, string? Reason, string[] Bindings, long BytesIn, long BytesOut, double DurationMs);
