using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Centaur.Tests.Infrastructure;

namespace Centaur.Tests.ControlPlane;

/// <summary>The three-step client protocol (spawn → message → execute), as the Slack adapter or the CLI uses it.</summary>
public sealed class AgentClient(HttpClient http)
{
    public HttpClient Http => http;

    public static string NewThreadKey(string source = "test") => $"{source}:{Guid.NewGuid():N}";

    public async Task<JsonObject> SpawnAsync(string threadKey, string? harness = null)
    {
        using var response = await http.PostAsJsonAsync("/agent/spawn", new JsonObject { ["thread_key"] = threadKey, ["harness"] = harness });
        return await ReadOkAsync(response);
    }

    public async Task<JsonObject> MessageAsync(string threadKey, string text, string? clientMessageId = null, string author = "alice")
    {
        using var response = await http.PostAsJsonAsync("/agent/message", new JsonObject
        {
            ["thread_key"] = threadKey, ["text"] = text, ["author"] = author, ["client_message_id"] = clientMessageId ?? Guid.NewGuid().ToString("N"),
        });
        return await ReadOkAsync(response);
    }

    public async Task<JsonObject> ExecuteAsync(string threadKey, string? idempotencyKey = null)
    {
        using var response = await http.PostAsJsonAsync("/agent/execute", new JsonObject
        {
            ["thread_key"] = threadKey, ["idempotency_key"] = idempotencyKey ?? Guid.NewGuid().ToString("N"),
        });
        return await ReadOkAsync(response);
    }

    /// <summary>spawn + message + execute; returns the execution.</summary>
    public async Task<JsonObject> AskAsync(string threadKey, string text)
    {
        await SpawnAsync(threadKey);
        await MessageAsync(threadKey, text);
        return await ExecuteAsync(threadKey);
    }

    public async Task<JsonObject> GetExecutionAsync(long executionId) =>
        await ReadOkAsync(await http.GetAsync($"/agent/executions/{executionId}"));

    /// <summary>Streams the execution's events to its terminal state.</summary>
    public Task<List<ReceivedEvent>> WaitForEndAsync(string threadKey, long executionId, TimeSpan? timeout = null) =>
        EventStreamReader.ReadAsync(http, threadKey, executionId: executionId, timeout: timeout ?? TimeSpan.FromSeconds(60));

    private static async Task<JsonObject> ReadOkAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {response.RequestMessage?.RequestUri}: {body}");
        return JsonNode.Parse(body)!.AsObject();
    }
}
