using System.Net;
using System.Text.Json.Nodes;
using Centaur.Tests.ControlPlane;
using Centaur.Tests.Infrastructure;

namespace Centaur.Tests.Tools;

/// <summary>The tool gateway with the kernel's tools: listing with schemas, checked arguments, errors, audit.</summary>
[Collection(AppCollection.Name)]
public sealed class ToolGatewayTests(CentaurAppFixture fixture)
{
    private async Task<(ApiProcess Api, ToolCaller Caller)> ThreadAsync()
    {
        var api = await fixture.SharedApiAsync();
        var thread = AgentClient.NewThreadKey();
        using var http = api.CreateClient();
        await new AgentClient(http).SpawnAsync(thread);
        return (api, new ToolCaller(api, thread));
    }

    [Fact]
    public async Task TheListingHasEveryKernelToolWithASchemaGeneratedFromItsParameterRecord()
    {
        var api = await fixture.SharedApiAsync();
        using var http = api.CreateClient();

        var tools = JsonNode.Parse(await http.GetStringAsync("/tools"))!.AsArray();

        Assert.Equal(["centaur", "slack", "web"], tools.Select(t => t!["name"]!.GetValue<string>()));
        Assert.All(tools, t => Assert.Equal("kernel", t!["source"]!.GetValue<string>()));
        var methods = tools.ToDictionary(t => t!["name"]!.GetValue<string>(), t => t!["methods"]!.AsArray().Select(m => m!["name"]!.GetValue<string>()).ToList());
        Assert.Equal(["thread_status", "list_threads", "cancel"], methods["centaur"]);
        Assert.Equal(["get_thread_history", "post_message", "upload_file"], methods["slack"]);
        var fetch = tools.Single(t => t!["name"]!.GetValue<string>() == "web")!["methods"]![0]!["arguments_schema"]!;
        Assert.Equal("object", fetch["type"]!.GetValue<string>());
        Assert.Equal(["url"], fetch["required"]!.AsArray().Select(r => r!.GetValue<string>()));
        // A JSON schema keeps its own keywords: the API's snake_case naming does not reach inside it.
        Assert.False(fetch["additionalProperties"]!.GetValue<bool>());
        Assert.Null(fetch["additional_properties"]);
        Assert.Equal("string", fetch["properties"]!["url"]!["type"]!.GetValue<string>());
        Assert.Equal("The http:// or https:// URL to fetch.", fetch["properties"]!["url"]!["description"]!.GetValue<string>());
        Assert.Equal(1, fetch["properties"]!["max_chars"]!["minimum"]!.GetValue<double>());
        Assert.Equal(20_000, fetch["properties"]!["max_chars"]!["default"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("centaur", "list_threads", """{"limit":0}""", "limit", "limit must be at least 1")]
    [InlineData("centaur", "list_threads", """{"limit":"ten"}""", "limit", "limit must be an integer, not a string")]
    [InlineData("centaur", "list_threads", """{"limit":2.5}""", "limit", "limit must be an integer, not a number")]
    [InlineData("centaur", "list_threads", """{"limt":5}""", "limt", "limt is not a known field; known fields: limit")]
    [InlineData("web", "fetch", """{}""", "url", "url is required")]
    [InlineData("web", "fetch", """{"url":""}""", "url", "url must not be empty")]
    [InlineData("slack", "upload_file", """{"filename":"a.txt","title":7}""", "title", "title must be a string or null, not a number")]
    [InlineData("web", "fetch", """[1,2]""", "arguments", null)]
    [InlineData("web", "fetch", """{"url": """, "arguments", null)]
    public async Task BadArgumentsGet400NamingTheFieldAreAuditedAndNeverReachTheLedger(string tool, string method, string json, string field, string? message)
    {
        var (_, caller) = await ThreadAsync();

        var (status, problem) = await caller.CallAsync(tool, method, json);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(field, problem["field"]!.GetValue<string>());
        Assert.Equal(field == "arguments" ? "invalid_json" : "invalid_arguments", problem["code"]!.GetValue<string>());
        if (message is not null)
        {
            Assert.Equal(message, problem["detail"]!.GetValue<string>());
        }

        Assert.Equal([(tool, method, "bad_arguments", (long?)null)], await caller.AuditAsync());
        Assert.Equal(0, await caller.LedgerCountAsync());
    }

    [Fact]
    public async Task UnknownToolsAndMethodsGet404AndAreAudited()
    {
        var (_, caller) = await ThreadAsync();

        var (noTool, toolProblem) = await caller.CallAsync("nope", "x");
        var (noMethod, methodProblem) = await caller.CallAsync("centaur", "reboot");

        Assert.Equal(HttpStatusCode.NotFound, noTool);
        Assert.Equal("unknown_tool", toolProblem["code"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, noMethod);
        Assert.Equal("tool centaur has no method reboot; it has thread_status, list_threads, cancel", methodProblem["detail"]!.GetValue<string>());
        Assert.Equal([("nope", "x", "unknown", (long?)null), ("centaur", "reboot", "unknown", null)], await caller.AuditAsync());
        Assert.Equal(0, await caller.LedgerCountAsync());
    }

    [Theory]
    [InlineData("Centaur", "thread_status", "tool")]
    [InlineData("centaur", "thread.status", "method")]
    public async Task BadToolNamesGet400(string tool, string method, string field)
    {
        var (_, caller) = await ThreadAsync();

        var (status, problem) = await caller.CallAsync(tool, method);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_tool_name", problem["code"]!.GetValue<string>());
        Assert.Equal(field, problem["field"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnExpiredSandboxTokenGets401()
    {
        var (_, caller) = await ThreadAsync();
        using var http = caller.CreateClient(expires: DateTimeOffset.UtcNow.AddMinutes(-1));

        using var response = await http.PostAsync("/tools/centaur/thread_status", new StringContent("{}"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Empty(await caller.AuditAsync());
    }

    [Fact]
    public async Task AToolCalledFromASandboxTurnGetsTheThreadsContextAndIsAuditedWithItsExecution()
    {
        var (api, caller) = await ThreadAsync();
        using var http = api.CreateClient();
        var agent = new AgentClient(http);

        await agent.MessageAsync(caller.ThreadKey, "what is my thread doing?\n[fake] tool=centaur.thread_status");
        var execution = await agent.ExecuteAsync(caller.ThreadKey);
        var id = execution["execution_id"]!.GetValue<long>();
        var events = await agent.WaitForEndAsync(caller.ThreadKey, id);

        var result = events.Single(e => e.Type == "tool_result");
        var content = result.Data["content"]!.GetValue<string>();
        Assert.StartsWith("HTTP 200 ", content, StringComparison.Ordinal);
        var body = JsonNode.Parse(content["HTTP 200 ".Length..])!;
        Assert.Equal(caller.ThreadKey, body["result"]!["thread_key"]!.GetValue<string>());
        Assert.Equal("claude-code", body["result"]!["harness"]!.GetValue<string>());
        Assert.Equal("succeeded", events[^1].State);
        Assert.Equal([("centaur", "thread_status", "ok", (long?)id)], await caller.AuditAsync());
        Assert.Equal(1, await caller.LedgerCountAsync());
    }

    [Fact]
    public async Task ASandboxTurnWithBadArgumentsSeesTheFieldInTheError()
    {
        var (api, caller) = await ThreadAsync();
        using var http = api.CreateClient();
        var agent = new AgentClient(http);

        await agent.MessageAsync(caller.ThreadKey, "list a few\n[fake] tool=centaur.list_threads args={\"limit\":500}");
        var execution = await agent.ExecuteAsync(caller.ThreadKey);
        var events = await agent.WaitForEndAsync(caller.ThreadKey, execution["execution_id"]!.GetValue<long>());

        var result = events.Single(e => e.Type == "tool_result");
        Assert.True(result.Data["is_error"]!.GetValue<bool>());
        Assert.Contains("\"field\":\"limit\"", result.Data["content"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("limit must be at most 100", result.Data["content"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(0, await caller.LedgerCountAsync());
    }

    [Fact]
    public async Task CancelStopsThisThreadsRunningTurnButNeverAnotherThreads()
    {
        var (api, caller) = await ThreadAsync();
        var (_, stranger) = await ThreadAsync();
        using var http = api.CreateClient();
        var agent = new AgentClient(http);
        await agent.MessageAsync(caller.ThreadKey, "think forever\n[fake] hang=true");
        var id = (await agent.ExecuteAsync(caller.ThreadKey))["execution_id"]!.GetValue<long>();
        await EventStreamReader.ReadAsync(http, caller.ThreadKey, executionId: id, stopWhen: e => e.State == "running");

        var (foreign, foreignProblem) = await stranger.CallAsync("centaur", "cancel", $$"""{"execution_id":{{id}}}""");
        var (own, cancelled) = await caller.CallAsync("centaur", "cancel");
        var events = await agent.WaitForEndAsync(caller.ThreadKey, id);

        Assert.Equal(HttpStatusCode.NotFound, foreign);
        Assert.Equal("unknown_execution", foreignProblem["code"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, own);
        Assert.Equal(id, cancelled["result"]!["execution_id"]!.GetValue<long>());
        Assert.Equal("cancelled", events[^1].State);
    }

    [Fact]
    public async Task TheGeneratedAgentsMarkdownHasAToolsSectionWithCallLinesAndArguments()
    {
        var (_, caller) = await ThreadAsync();
        using var http = caller.CreateClient();

        var markdown = await http.GetStringAsync("/tools/agents-md");
        var layers = JsonNode.Parse(await http.GetStringAsync("/tools/agents-md?format=json"))!;

        Assert.StartsWith("## Tools\n", markdown, StringComparison.Ordinal);
        Assert.Contains("### web\n", markdown, StringComparison.Ordinal);
        Assert.Contains("- `call web fetch '{\"url\":\"…\"}'` — Fetches a URL (GET) and returns the page as text.", markdown, StringComparison.Ordinal);
        Assert.Contains("  - `url` (string, required): The http:// or https:// URL to fetch.", markdown, StringComparison.Ordinal);
        Assert.Contains("  - `limit` (integer): How many threads (1-100, default 20).", markdown, StringComparison.Ordinal);
        Assert.Equal(["tools"], layers["prompt_layers"]!.AsArray().Select(l => l!["name"]!.GetValue<string>()));
    }

    [Fact]
    public async Task WithoutTheProxyWebFetchRefusesPrivateAddresses()
    {
        var (api, caller) = await ThreadAsync();

        var (status, problem) = await caller.CallAsync("web", "fetch", $$"""{"url":"{{api.BaseAddress}}health"}""");

        Assert.Equal(HttpStatusCode.BadGateway, status);
        Assert.Equal("fetch_failed", problem["code"]!.GetValue<string>());
        Assert.Contains("private, loopback or link-local", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal([("web", "fetch", "fetch_failed", (long?)null)], await caller.AuditAsync());
        Assert.Equal(1, await caller.LedgerCountAsync());
    }
}
