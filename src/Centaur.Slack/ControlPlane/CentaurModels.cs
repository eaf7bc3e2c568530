using System.Text.Json;

namespace Centaur.Slack.ControlPlane;

internal sealed record SpawnRequest(string ThreadKey);

internal sealed record SpawnResponse(string ThreadKey, string? State);

internal sealed record MessageRequest(string ThreadKey, string Text, string Author, string ClientMessageId);

internal sealed record MessageResponse(long MessageId, string ThreadKey, bool Duplicate);

internal sealed record ExecuteRequest(string ThreadKey, string IdempotencyKey);

internal sealed record ExecuteResponse(long ExecutionId, string ThreadKey, string State);

/// <summary>A Slack slash command as the API's workflow trigger takes it (POST /workflows/slash-command).</summary>
internal sealed record SlashCommand(string? Command, string? Text, string? UserId, string? UserName, string? ChannelId, string? TeamId, string? TriggerId);

internal sealed record SlashCommandAnswer(string Text);

internal sealed record ThreadAllowanceRequest(string GrantedBy);

internal sealed record ClaimRequest(string Client, int Max, int LeaseSeconds);

internal sealed record AckRequest(string LeaseToken, string ExternalRef);

/// <summary>An outbox row: the final answer of an execution that must reach its Slack thread exactly once.</summary>
internal sealed record Delivery(long DeliveryId, long ExecutionId, string ThreadKey, string State, JsonElement? Result, string LeaseToken)
{
    public string? ResultText => Result is { ValueKind: JsonValueKind.String } text ? text.GetString() : null;
}

/// <summary>One event of the thread's SSE stream.</summary>
internal sealed record AgentEvent(long EventId, long ExecutionId, string Type, JsonElement Data, DateTimeOffset CreatedAt)
{
    public string? Text(string property) =>
        Data.ValueKind == JsonValueKind.Object && Data.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
