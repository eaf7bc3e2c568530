using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Centaur.Tests.Infrastructure;
using Npgsql;

namespace Centaur.Tests.ControlPlane;

/// <summary>
/// Bad input gets a ProblemDetails with a stable code (and the field), and nothing is stored: the control plane's field
/// rules, on a thread that exists. Malformed and oversize bodies, credentials and path traversal on every endpoint are
/// swept by EndToEnd/BadInputSweepTests.
/// </summary>
[Collection(AppCollection.Name)]
public sealed class BadInputTests(CentaurAppFixture fixture)
{
    private const string KnownThread = "test:bad-input-known-thread";

    public static TheoryData<string, string, string, HttpStatusCode, string, string?> Cases => new()
    {
        { "spawn without thread key", "/agent/spawn", """{"harness":"codex"}""", HttpStatusCode.BadRequest, "invalid_thread_key", "thread_key" },
        { "thread key without source", "/agent/spawn", """{"thread_key":"no-colon"}""", HttpStatusCode.BadRequest, "invalid_thread_key", "thread_key" },
        { "thread key with spaces", "/agent/spawn", """{"thread_key":"test:has space"}""", HttpStatusCode.BadRequest, "invalid_thread_key", "thread_key" },
        { "thread key too long", "/agent/spawn", $$"""{"thread_key":"test:{{new string('x', 260)}}"}""", HttpStatusCode.BadRequest, "invalid_thread_key", "thread_key" },
        { "unknown harness", "/agent/spawn", """{"thread_key":"test:h1","harness":"gpt-9"}""", HttpStatusCode.BadRequest, "invalid_harness", "harness" },
        { "message to unknown thread", "/agent/message", """{"thread_key":"test:never-spawned","text":"hi","author":"a","client_message_id":"m"}""", HttpStatusCode.NotFound, "unknown_thread", null },
        { "message without text", "/agent/message", $$"""{"thread_key":"{{KnownThread}}","author":"a","client_message_id":"m"}""", HttpStatusCode.BadRequest, "missing_field", "text" },
        { "message without author", "/agent/message", $$"""{"thread_key":"{{KnownThread}}","text":"hi","client_message_id":"m"}""", HttpStatusCode.BadRequest, "missing_field", "author" },
        { "message without id", "/agent/message", $$"""{"thread_key":"{{KnownThread}}","text":"hi","author":"a"}""", HttpStatusCode.BadRequest, "missing_field", "client_message_id" },
        { "oversize text", "/agent/message", $$"""{"thread_key":"{{KnownThread}}","text":"{{new string('x', 1024 * 1024 + 1)}}","author":"a","client_message_id":"big"}""", HttpStatusCode.BadRequest, "text_too_large", "text" },
        { "execute unknown thread", "/agent/execute", """{"thread_key":"test:never-spawned","idempotency_key":"k"}""", HttpStatusCode.NotFound, "unknown_thread", null },
        { "execute without key", "/agent/execute", $$"""{"thread_key":"{{KnownThread}}"}""", HttpStatusCode.BadRequest, "missing_field", "idempotency_key" },
        { "NUL in text", "/agent/message", $$"""{"thread_key":"{{KnownThread}}","text":"a\u0000b","author":"a","client_message_id":"nul-text"}""", HttpStatusCode.BadRequest, "invalid_text", "text" },
        { "NUL in author", "/agent/message", $$"""{"thread_key":"{{KnownThread}}","text":"hi","author":"\u0000","client_message_id":"nul-author"}""", HttpStatusCode.BadRequest, "invalid_text", "author" },
        { "NUL in message id", "/agent/message", $$"""{"thread_key":"{{KnownThread}}","text":"hi","author":"a","client_message_id":"\u0000"}""", HttpStatusCode.BadRequest, "invalid_text", "client_message_id" },
        { "NUL in attachment", "/agent/message", $$"""{"thread_key":"{{KnownThread}}","text":"hi","author":"a","client_message_id":"nul-att","attachments":[{"name":"\u0000","url":"\u0000"}]}""", HttpStatusCode.BadRequest, "invalid_text", "attachments[0].name" },
        { "NUL in idempotency key", "/agent/execute", $$"""{"thread_key":"{{KnownThread}}","idempotency_key":"\u0000"}""", HttpStatusCode.BadRequest, "invalid_text", "idempotency_key" },
        { "NUL in persona", "/agent/spawn", """{"thread_key":"test:nul-persona","persona":"\u0000"}""", HttpStatusCode.BadRequest, "invalid_text", "persona" },
        { "NUL in repo", "/agent/spawn", """{"thread_key":"test:nul-repo","repo":"\u0000"}""", HttpStatusCode.BadRequest, "invalid_text", "repo" },
        { "cancel unknown execution", "/agent/executions/999999999/cancel", "{}", HttpStatusCode.NotFound, "unknown_execution", null },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task BadRequestsAreRefusedWithACodeAndStoreNothing(string name, string path, string body, HttpStatusCode status, string code, string? field)
    {
        var api = await fixture.SharedApiAsync();
        using var http = api.CreateClient();
        await new AgentClient(http).SpawnAsync(KnownThread);
        var before = await CountRowsAsync(api);

        using var response = await http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));

        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.True(status == response.StatusCode, $"{name}: {(int)response.StatusCode} {problem.ToJsonString()}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(code, problem["code"]?.GetValue<string>());
        Assert.Equal(field, problem["field"]?.GetValue<string>());
        Assert.Equal(before, await CountRowsAsync(api));
    }

    [Fact]
    public async Task StreamsOfUnknownThreadsAndBadCursorsAreRefused()
    {
        var api = await fixture.SharedApiAsync();
        using var http = api.CreateClient();

        using var unknown = await http.GetAsync("/agent/threads/test%3Anope/events");
        using var cursor = await http.GetAsync($"/agent/threads/{Uri.EscapeDataString(KnownThread)}/events?after_event_id=-5");

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, cursor.StatusCode);
        Assert.Contains("\"code\":\"invalid_cursor\"", await cursor.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private static async Task<long> CountRowsAsync(ApiProcess api)
    {
        await using var db = NpgsqlDataSource.Create(api.ConnectionString);
        await using var command = db.CreateCommand("""
            SELECT (SELECT count(*) FROM agent_runtime_assignments) + (SELECT count(*) FROM sandbox_sessions)
                 + (SELECT count(*) FROM agent_message_requests) + (SELECT count(*) FROM chat_messages)
                 + (SELECT count(*) FROM agent_execution_requests) + (SELECT count(*) FROM agent_execution_events)
                 + (SELECT count(*) FROM side_effects) + (SELECT count(*) FROM tool_calls)
            """);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
