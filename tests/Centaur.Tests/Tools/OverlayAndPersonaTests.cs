using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Centaur.Tests.ControlPlane;
using Centaur.Tests.Infrastructure;
using Npgsql;

namespace Centaur.Tests.Tools;

/// <summary>
/// An org overlay loaded beside the kernel (tools from a test-built assembly, personas, a skill, a prompt) and the
/// personas that restrict what a thread's tools may do.
/// </summary>
[Collection(AppCollection.Name)]
public sealed class OverlayAndPersonaTests(OverlayApi overlay) : IClassFixture<OverlayApi>
{
    private ApiProcess Api => overlay.Api;

    private async Task<(AgentClient Agent, ToolCaller Caller)> ThreadAsync(string? persona = null)
    {
        var http = Api.CreateClient();
        var agent = new AgentClient(http);
        var thread = AgentClient.NewThreadKey();
        using var spawn = await http.PostAsJsonAsync("/agent/spawn", new JsonObject { ["thread_key"] = thread, ["persona"] = persona });
        Assert.Equal(HttpStatusCode.OK, spawn.StatusCode);
        return (agent, new ToolCaller(Api, thread));
    }

    [Fact]
    public async Task OverlayToolsAreListedAndCallableAndTheOverlaysWebReplacesTheKernels()
    {
        var (agent, caller) = await ThreadAsync();

        var tools = JsonNode.Parse(await agent.Http.GetStringAsync("/tools"))!.AsArray().ToDictionary(t => t!["name"]!.GetValue<string>());
        var (greeted, greeting) = await caller.CallAsync("greeter", "hello", """{"name":"Ada"}""");
        var (fetched, fetch) = await caller.CallAsync("web", "fetch", """{"url":"https://example.com/","anything":"goes"}""");

        Assert.Equal(["centaur", "greeter", "slack", "upstream", "web"], tools.Keys);
        Assert.Equal("org", tools["greeter"]!["source"]!.GetValue<string>());
        Assert.Equal("org", tools["web"]!["source"]!.GetValue<string>());
        Assert.Equal("kernel", tools["slack"]!["source"]!.GetValue<string>());
        Assert.Equal("Who to greet.", tools["greeter"]!["methods"]![0]!["arguments_schema"]!["properties"]!["name"]!["description"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, greeted);
        Assert.Equal("hello Ada from the overlay", greeting["result"]!["greeting"]!.GetValue<string>());
        Assert.Equal(caller.ThreadKey, greeting["result"]!["thread_key"]!.GetValue<string>());
        Assert.Equal("sbx-test", greeting["result"]!["sandbox_id"]!.GetValue<string>());
        Assert.Equal("centaur-placeholder:greeter-token", greeting["result"]!["token"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, fetched);
        Assert.True(fetch["result"]!["overlay"]!.GetValue<bool>());
        Assert.Equal([("greeter", "hello", "ok", (long?)null), ("web", "fetch", "ok", null)], await caller.AuditAsync());
    }

    [Fact]
    public async Task OverlayArgumentsAreCheckedAgainstTheSchemaGeneratedFromTheOverlaysRecord()
    {
        var (_, caller) = await ThreadAsync();

        var (status, problem) = await caller.CallAsync("greeter", "hello", """{"name":"a name far longer than twenty"}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("name", problem["field"]!.GetValue<string>());
        Assert.Equal("name must be at most 20 characters", problem["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task TheOverlayIsReportedWithItsSourcesSkillsAndBrokenFiles()
    {
        using var http = Api.CreateClient();

        var summary = JsonNode.Parse(await http.GetStringAsync("/overlay"))!;
        var personas = JsonNode.Parse(await http.GetStringAsync("/personas"))!.AsArray().ToDictionary(p => p!["name"]!.GetValue<string>());
        using var health = await http.GetAsync("/health");

        Assert.Equal(Path.GetFullPath(overlay.Overlay), summary["path"]!.GetValue<string>());
        Assert.Equal("tools/Centaur.TestOverlay.dll", summary["tools"]!.AsArray().Single(t => t!["name"]!.GetValue<string>() == "greeter")!["file"]!.GetValue<string>());
        Assert.Equal(["always_fails", "sleeper", "three_steps", "ticker"],
            summary["workflows"]!.AsArray().Where(w => w!["source"]!.GetValue<string>() == "org").Select(w => w!["name"]!.GetValue<string>()));
        Assert.Equal("deploy", Assert.Single(summary["skills"]!.AsArray())!["name"]!.GetValue<string>());
        Assert.True(summary["org_prompt"]!.GetValue<bool>());
        var error = Assert.Single(summary["errors"]!.AsArray())!.GetValue<string>();
        Assert.Equal("personas/broken.json: allowed_tools entry 'not a rule' must be tool, tool.* or tool.method", error);
        Assert.Equal("org", personas["reviewer"]!["source"]!.GetValue<string>());
        Assert.Equal(["greeter.hello", "centaur.thread_status"], personas["reviewer"]!["allowed_tools"]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.Null(personas["reviewer"]!["prompt"]);
        Assert.StartsWith("sha256:", personas["reviewer"]!["prompt_sha256"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("kernel", personas["researcher"]!["source"]!.GetValue<string>());
        Assert.False(personas.ContainsKey("broken"));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task APersonaRestrictsTheToolsItsThreadMayCallWith403AndNothingOnTheLedger()
    {
        var (_, caller) = await ThreadAsync(persona: "reviewer");
        using var sandbox = caller.CreateClient();

        var (allowed, _) = await caller.CallAsync("greeter", "hello", """{"name":"Bob"}""");
        var (refused, problem) = await caller.CallAsync("web", "fetch", """{"url":"https://example.com/"}""");
        var visible = JsonNode.Parse(await sandbox.GetStringAsync("/tools"))!.AsArray();

        Assert.Equal(HttpStatusCode.OK, allowed);
        Assert.Equal(HttpStatusCode.Forbidden, refused);
        Assert.Equal("tool_not_allowed", problem["code"]!.GetValue<string>());
        Assert.Equal("the persona 'reviewer' of this thread may not call web.fetch; it may call greeter.hello, centaur.thread_status", problem["detail"]!.GetValue<string>());
        Assert.Equal([("greeter", "hello", "ok", (long?)null), ("web", "fetch", "not_allowed", null)], await caller.AuditAsync());
        Assert.Equal(1, await caller.LedgerCountAsync());
        Assert.Equal(["centaur", "greeter"], visible.Select(t => t!["name"]!.GetValue<string>()));
        Assert.Equal(["thread_status"], visible[0]!["methods"]!.AsArray().Select(m => m!["name"]!.GetValue<string>()));
    }

    [Fact]
    public async Task ASandboxTurnOfARestrictedPersonaSeesTheRefusal()
    {
        var (agent, caller) = await ThreadAsync(persona: "reviewer");

        await agent.MessageAsync(caller.ThreadKey, "list the team's threads\n[fake] tool=centaur.list_threads");
        var execution = await agent.ExecuteAsync(caller.ThreadKey);
        var events = await agent.WaitForEndAsync(caller.ThreadKey, execution["execution_id"]!.GetValue<long>());

        var result = events.Single(e => e.Type == "tool_result");
        Assert.StartsWith("HTTP 403 ", result.Data["content"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("\"code\":\"tool_not_allowed\"", result.Data["content"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("succeeded", events[^1].State);
    }

    [Fact]
    public async Task PersonaAtTheStartOfAMessageRePinsTheThreadAndIsStrippedFromTheTurn()
    {
        var (agent, caller) = await ThreadAsync();

        await agent.MessageAsync(caller.ThreadKey, "/persona reviewer look at PR 12");
        var execution = await agent.ExecuteAsync(caller.ThreadKey);
        var events = await agent.WaitForEndAsync(caller.ThreadKey, execution["execution_id"]!.GetValue<long>());
        var detail = JsonNode.Parse(await agent.Http.GetStringAsync($"/agent/threads/{Uri.EscapeDataString(caller.ThreadKey)}"))!;
        var (refused, _) = await caller.CallAsync("web", "fetch", """{"url":"https://example.com/"}""");

        Assert.Equal("reviewer", detail["session"]!["persona"]!.GetValue<string>());
        Assert.Equal(2, detail["session"]!["assignment_generation"]!.GetValue<int>());
        Assert.Equal("look at PR 12", detail["transcript"]![0]!["text"]!.GetValue<string>());
        Assert.Equal("turn 1: look at PR 12", events[^1].Data["result"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Forbidden, refused);
    }

    [Fact]
    public async Task AnUnknownPersonaIsRefusedWith422AndNothingIsStored()
    {
        var (agent, caller) = await ThreadAsync();

        using var message = await agent.Http.PostAsJsonAsync("/agent/message", new JsonObject
        {
            ["thread_key"] = caller.ThreadKey, ["text"] = "/persona nobody hi", ["author"] = "alice", ["client_message_id"] = "m1",
        });
        using var spawn = await agent.Http.PostAsJsonAsync("/agent/spawn", new JsonObject { ["thread_key"] = AgentClient.NewThreadKey(), ["persona"] = "nobody" });

        var messageProblem = JsonNode.Parse(await message.Content.ReadAsStringAsync())!;
        Assert.Equal(HttpStatusCode.UnprocessableEntity, message.StatusCode);
        Assert.Equal("unknown_persona", messageProblem["code"]!.GetValue<string>());
        Assert.Equal("text", messageProblem["field"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.UnprocessableEntity, spawn.StatusCode);
        Assert.Contains("\"field\":\"persona\"", await spawn.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await using var db = NpgsqlDataSource.Create(Api.ConnectionString);
        await using var count = db.CreateCommand("SELECT count(*) FROM agent_message_requests WHERE thread_key = @t");
        count.Parameters.AddWithValue("t", caller.ThreadKey);
        Assert.Equal(0L, await count.ExecuteScalarAsync());
    }

    [Fact]
    public async Task APersonasDefaultHarnessIsPinnedUnlessTheCallerNamesOne()
    {
        using var http = Api.CreateClient();

        using var byPersona = await http.PostAsJsonAsync("/agent/spawn", new JsonObject { ["thread_key"] = AgentClient.NewThreadKey(), ["persona"] = "pi-coder" });
        using var explicitHarness = await http.PostAsJsonAsync("/agent/spawn",
            new JsonObject { ["thread_key"] = AgentClient.NewThreadKey(), ["persona"] = "pi-coder", ["harness"] = "codex" });

        Assert.Equal("pi", JsonNode.Parse(await byPersona.Content.ReadAsStringAsync())!["harness"]!.GetValue<string>());
        Assert.Equal("codex", JsonNode.Parse(await explicitHarness.Content.ReadAsStringAsync())!["harness"]!.GetValue<string>());
    }

    [Fact]
    public async Task TheAgentsMarkdownLayersTheOrgPromptThePersonaAndOnlyItsTools()
    {
        var (_, caller) = await ThreadAsync(persona: "reviewer");
        using var sandbox = caller.CreateClient();

        var markdown = await sandbox.GetStringAsync("/tools/agents-md");
        var layers = JsonNode.Parse(await sandbox.GetStringAsync("/tools/agents-md?format=json"))!;

        Assert.StartsWith(TestOverlayFolder.OrgPrompt + "\n\n" + TestOverlayFolder.ReviewerPrompt + "\n\n## Tools\n", markdown, StringComparison.Ordinal);
        Assert.Contains("### greeter\n", markdown, StringComparison.Ordinal);
        Assert.Contains("- `call centaur thread_status '{}'`", markdown, StringComparison.Ordinal);
        Assert.DoesNotContain("### web", markdown, StringComparison.Ordinal);
        Assert.DoesNotContain("list_threads", markdown, StringComparison.Ordinal);
        Assert.Equal(["org", "persona", "tools"], layers["prompt_layers"]!.AsArray().Select(l => l!["name"]!.GetValue<string>()));
        Assert.Equal("reviewer", layers["persona"]!.GetValue<string>());
        Assert.Equal("deploy", layers["skills"]![0]!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task AReloadPicksUpOverlayChangesWithoutARestart()
    {
        using var admin = Api.CreateClient(ApiProcess.AdminKey);
        using var agentKey = Api.CreateClient();
        var file = Path.Combine(overlay.Overlay, "personas", "late-arrival.json");

        var before = JsonNode.Parse(await agentKey.GetStringAsync("/personas"))!.AsArray();
        File.WriteAllText(file, """{"description": "added while running", "allowed_tools": ["centaur"]}""");
        using var forbidden = await agentKey.PostAsync("/overlay/reload", null);
        using var reload = await admin.PostAsync("/overlay/reload", null);
        var after = JsonNode.Parse(await agentKey.GetStringAsync("/personas"))!.AsArray();
        File.Delete(file);
        using var restore = await admin.PostAsync("/overlay/reload", null);

        Assert.DoesNotContain(before, p => p!["name"]!.GetValue<string>() == "late-arrival");
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Equal(HttpStatusCode.OK, reload.StatusCode);
        Assert.Contains(after, p => p!["name"]!.GetValue<string>() == "late-arrival" && p["source"]!.GetValue<string>() == "org");
        var (status, greeting) = await new ToolCaller(Api, AgentClient.NewThreadKey()).CallAsync("greeter", "hello", """{"name":"again"}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("hello again from the overlay", greeting["result"]!["greeting"]!.GetValue<string>());
    }
}
