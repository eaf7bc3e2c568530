namespace Centaur.Tests.Fakes.FakeLlm;

/// <summary>What the fake LLM answers to one model call: text, or a shell tool call (Bash for Claude, bash for pi, exec_command for Codex).</summary>
public sealed record FakeReply(string? Text, string? Command, TimeSpan Delay = default)
{
    public static FakeReply Say(string text) => new(text, null);

    public static FakeReply RunShell(string command) => new(null, command);

    public bool IsToolCall => Command is not null;
}

/// <summary>One model call the fake received (parsed body; headers with key values as received, for secret checks).</summary>
public sealed record FakeLlmRequest(string Api, string Path, System.Text.Json.Nodes.JsonObject Body, IReadOnlyDictionary<string, string> Headers)
{
    /// <summary>The text of the last tool result in the request (Anthropic tool_result or OpenAI function_call_output), if the last turn is one.</summary>
    public string? ToolOutput { get; init; }

    /// <summary>The last real user text (harness reminders and environment blocks skipped).</summary>
    public string UserText { get; init; } = "";

    /// <summary>How many messages/input items the request carried (grows with the conversation).</summary>
    public int MessageCount { get; init; }
}
