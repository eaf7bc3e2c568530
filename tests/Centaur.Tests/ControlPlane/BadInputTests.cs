using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Centaur.Tests.Infrastructure;
using Npgsql;

namespace Centaur.Tests.ControlPlane;

/// <summary>Bad input gets a ProblemDetails with a stable code (and the field), and nothing is stored.</summary>
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
        { "malformed json", "/agent/spawn", """{"thread_key": """, HttpStatusCode.BadRequest, "invalid_request", null },
        { "wrong json type", "/agent/message", """{"thread_key":42}""", HttpStatusCode.BadRequest, "invalid_request", null },
        { "message to unknown thread", "/agent/message", """{"thread_key":"test:never-spawned","text":"hi","author":"a","client_message_id":"m"}""", HttpStatusCode.NotFound, "unknown_thread", null },
        { "message without text", "/agent/message", $$"""{"thread_key":"{{KnownThread}}","author":"a","client_message_id":"m"}""", HttpStatusCode.BadRequest, "missing_field", "text" },
        { "message without author", "/agent/message", $$"""{"thread_key":"{{KnownThread}}","text":"hi","client_message_id":"m"}""", HttpStatusCode.BadRequest, "missing_field", "author" },
        { "message without id", "/agent/message", $$"""{"thread_key":"{{KnownThread}}","text":"hi","author":"a"}""", HttpStatusCode.BadRequest, "missing_field", "client_message_id" },
        { "oversize text", "/agent/message", $$"""{"thread_key":"{{KnownThread}}","text":"{{new string('x', 1024 * 1024 + 1)}}","author":"a","client_message_id":"big"}""", HttpStatusCode.BadRequest, "text_too_large", "text" },
        { "execute unknown thread", "/agent/execute", """{"thread_key":"test:never-spawned","idempotency_key":"k"}""", HttpStatusCode.NotFound, "unknown_thread", null },
        { "execute without key", "/agent/execute", $$"""{"thread_key":"{{KnownThread}}"}""", HttpStatusCode.BadRequest, "missing_field", "idempotency_key" },
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

    [Theory]
    [InlineData(null, "/agent/threads", HttpStatusCode.Unauthorized)]
    [InlineData("ck_wrong_key", "/agent/threads", HttpStatusCode.Unauthorized)]
    [InlineData("sbx1.forged.token", "/agent/threads", HttpStatusCode.Unauthorized)]
    [InlineData(ApiProcess.AgentKey, "/admin/reconcile", HttpStatusCode.Forbidden)]
    public async Task WrongCredentialsGet401AndWrongScopes403(string? key, string path, HttpStatusCode status)
    {
        var api = await fixture.SharedApiAsync();
        using var http = api.CreateClient(key);
        var before = await CountRowsAsync(api);

        using var response = path.StartsWith("/admin", StringComparison.Ordinal)
            ? await http.PostAsync(path, null)
            : await http.GetAsync(path);

        Assert.Equal(status, response.StatusCode);
        Assert.Equal(before, await CountRowsAsync(api));
    }

    [Fact]
    public async Task ToolCallsWithABadSandboxTokenGet401()
    {
        var api = await fixture.SharedApiAsync();
        using var http = api.CreateClient("sbx1.eyJ0IjoidGVzdDp4IiwicyI6InNieC0xIiwiZXhwIjo0MTAyNDQ0ODAwfQ.AAAA");

        using var response = await http.PostAsync("/tools/centaur/thread_status", new StringContent("{}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
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
