using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Centaur.Tests.ControlPlane;
using Centaur.Tests.Infrastructure;
using Npgsql;

namespace Centaur.Tests.Tools;

/// <summary>
/// Durable workflows: triggers (HTTP, Slack slash command, cron), stored steps, sleeps, retries, cancellation and agent
/// turns; the test overlay's workflows record every real execution of a step in test_effects.
/// </summary>
[Collection(AppCollection.Name)]
public sealed class WorkflowTests(CentaurAppFixture fixture, OverlayApi overlay) : IClassFixture<OverlayApi>
{
    private ApiProcess Api => overlay.Api;

    private static string NewTag() => $"tag-{Guid.NewGuid():N}";

    [Fact]
    public async Task AnHttpTriggeredRunStoresEachStepsResultAndIsVisibleWithItsSteps()
    {
        using var http = Api.CreateClient();
        var workflows = new WorkflowClient(http);
        var tag = NewTag();

        var run = await workflows.StartAsync("three_steps", new JsonObject { ["tag"] = tag });
        var detail = await workflows.WaitAsync(WorkflowClient.RunId(run));

        Assert.Equal("queued", run["state"]!.GetValue<string>());
        Assert.Equal("http", run["trigger"]!.GetValue<string>());
        Assert.Equal("tests-agent", run["created_by"]!.GetValue<string>());
        Assert.Equal("succeeded", WorkflowClient.State(detail));
        Assert.Equal(["one", "two", "three"], detail["steps"]!.AsArray().Select(s => s!["name"]!.GetValue<string>()));
        Assert.All(detail["steps"]!.AsArray(), s => Assert.Equal("completed", s!["state"]!.GetValue<string>()));
        var result = detail["run"]!["result"]!;
        Assert.Equal(WorkflowClient.Step(detail, "one")["result"]!.GetValue<long>(), result["one"]!.GetValue<long>());
        Assert.Equal(1, result["attempt"]!.GetValue<int>());
        Assert.Equal(new Dictionary<string, long> { ["handler"] = 1, ["one"] = 1, ["two"] = 1, ["three"] = 1 }, await OverlayApi.EffectsAsync(Api.ConnectionString, tag));
    }

    [Fact]
    public async Task TheSameIdempotencyKeyReturnsTheSameRun()
    {
        using var http = Api.CreateClient();
        var workflows = new WorkflowClient(http);

        var first = await workflows.StartAsync("echo", new JsonObject { ["n"] = 1 }, idempotencyKey: "nightly-2024-01-01");
        var second = await workflows.StartAsync("echo", new JsonObject { ["n"] = 2 }, idempotencyKey: "nightly-2024-01-01");
        var detail = await workflows.WaitAsync(WorkflowClient.RunId(first));

        Assert.Equal(WorkflowClient.RunId(first), WorkflowClient.RunId(second));
        Assert.Equal(1, detail["run"]!["result"]!["n"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("/workflows/nope/runs", """{"input":{}}""", HttpStatusCode.NotFound, "unknown_workflow", null)]
    [InlineData("/workflows/three_steps/runs", """{"input":{}}""", HttpStatusCode.BadRequest, "invalid_input", "input.tag")]
    [InlineData("/workflows/three_steps/runs", """{"input":{"tag":5}}""", HttpStatusCode.BadRequest, "invalid_input", "input.tag")]
    [InlineData("/workflows/three_steps/runs", """{"input":{"tag":"t","extra":1}}""", HttpStatusCode.BadRequest, "invalid_input", "input.extra")]
    [InlineData("/workflows/agent_turn/runs", """{"input":{"text":""}}""", HttpStatusCode.BadRequest, "invalid_input", "input.text")]
    [InlineData("/workflows/echo/runs", """{"input":[1]}""", HttpStatusCode.BadRequest, "invalid_request", null)]
    [InlineData("/workflows/echo/runs", """{"idempotency_key":""}""", HttpStatusCode.BadRequest, "invalid_idempotency_key", "idempotency_key")]
    [InlineData("/workflows/runs/999999/cancel", "{}", HttpStatusCode.NotFound, "unknown_workflow_run", null)]
    public async Task BadStartsAreRefusedWithACodeAndStoreNothing(string path, string body, HttpStatusCode status, string code, string? field)
    {
        using var http = Api.CreateClient();
        var before = await CountRunsAsync();

        using var response = await http.PostAsync(path, new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(status, response.StatusCode);
        Assert.Equal(code, problem["code"]!.GetValue<string>());
        Assert.Equal(field, problem["field"]?.GetValue<string>());
        Assert.Equal(before, await CountRunsAsync());
    }

    [Fact]
    public async Task AWorkflowKilledMidRunReRunsFromTheTopWithoutRepeatingCompletedSteps()
    {
        var folder = TestOverlayFolder.Create();
        await using var api = await OverlayApi.StartAsync(fixture, TestOverlayFolder.Settings(folder));
        using var http = api.CreateClient();
        var tag = NewTag();
        var gate = Path.Combine(Path.GetTempPath(), $"centaur-gate-{Guid.NewGuid():N}");

        var run = await new WorkflowClient(http).StartAsync("three_steps", new JsonObject { ["tag"] = tag, ["gate"] = gate });
        var runId = WorkflowClient.RunId(run);
        await WaitForEffectAsync(api.ConnectionString, tag, "two");
        api.Kill();
        await api.StartAsync(CancellationToken.None);
        using var http2 = api.CreateClient();
        File.WriteAllText(gate, "open");
        var detail = await new WorkflowClient(http2).WaitAsync(runId, timeout: TimeSpan.FromSeconds(60));

        Assert.Equal("succeeded", WorkflowClient.State(detail));
        Assert.Equal(new Dictionary<string, long> { ["handler"] = 2, ["one"] = 1, ["two"] = 1, ["three"] = 1 }, await OverlayApi.EffectsAsync(api.ConnectionString, tag));
        Assert.Equal(2, detail["run"]!["attempts"]!.GetValue<int>());
        Assert.Equal(2, detail["run"]!["result"]!["attempt"]!.GetValue<int>());
        Assert.All(detail["steps"]!.AsArray(), s => Assert.Equal(1, s!["attempts"]!.GetValue<int>()));
        File.Delete(gate);
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task ADurableSleepReleasesTheRunAndResumesItAfterwards()
    {
        using var http = Api.CreateClient();
        var workflows = new WorkflowClient(http);
        var tag = NewTag();

        var run = await workflows.StartAsync("sleeper", new JsonObject { ["tag"] = tag, ["seconds"] = 4 });
        var sleeping = await workflows.WaitAsync(WorkflowClient.RunId(run), d => WorkflowClient.State(d) == "sleeping");
        var detail = await workflows.WaitAsync(WorkflowClient.RunId(run));

        Assert.NotNull(sleeping["run"]!["wake_at"]);
        Assert.Equal("succeeded", WorkflowClient.State(detail));
        Assert.Equal(2, detail["run"]!["result"]!["attempt"]!.GetValue<int>());
        Assert.Equal(["before", "sleep:sleep-1", "after"], detail["steps"]!.AsArray().Select(s => s!["name"]!.GetValue<string>()));
        Assert.Equal(new Dictionary<string, long> { ["before"] = 1, ["after"] = 1 }, await OverlayApi.EffectsAsync(Api.ConnectionString, tag));
        var slept = detail["run"]!["finished_at"]!.GetValue<DateTimeOffset>() - detail["run"]!["created_at"]!.GetValue<DateTimeOffset>();
        Assert.True(slept >= TimeSpan.FromSeconds(4), $"the run finished after {slept}");
    }

    [Fact]
    public async Task AHandlerThatThrowsIsRetriedWithItsStepsKeptThenFailsWithTheError()
    {
        using var http = Api.CreateClient();
        var workflows = new WorkflowClient(http);
        var tag = NewTag();

        var run = await workflows.StartAsync("always_fails", new JsonObject { ["tag"] = tag });
        var detail = await workflows.WaitAsync(WorkflowClient.RunId(run));

        Assert.Equal("failed", WorkflowClient.State(detail));
        Assert.Equal("handler_failed", detail["run"]!["error"]!["code"]!.GetValue<string>());
        Assert.Equal("InvalidOperationException: the upstream said no", detail["run"]!["error"]!["message"]!.GetValue<string>());
        Assert.Equal(2, detail["run"]!["attempts"]!.GetValue<int>());
        Assert.Equal(new Dictionary<string, long> { ["ok"] = 1 }, await OverlayApi.EffectsAsync(Api.ConnectionString, tag));
    }

    [Fact]
    public async Task ACancelledRunStopsAtItsNextLeaseRenewal()
    {
        using var http = Api.CreateClient();
        var workflows = new WorkflowClient(http);
        var tag = NewTag();
        var run = await workflows.StartAsync("three_steps", new JsonObject { ["tag"] = tag, ["gate"] = "/nonexistent/gate" });
        var runId = WorkflowClient.RunId(run);
        await WaitForEffectAsync(Api.ConnectionString, tag, "two");

        using var cancel = await http.PostAsync($"/workflows/runs/{runId}/cancel", null);
        var detail = await workflows.WaitAsync(runId);

        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        Assert.Equal("cancelled", WorkflowClient.State(detail));
        Assert.False((await OverlayApi.EffectsAsync(Api.ConnectionString, tag)).ContainsKey("three"));
    }

    [Fact]
    public async Task TheAgentTurnWorkflowRunsATurnInASandboxAndReturnsItsAnswer()
    {
        using var http = Api.CreateClient();
        var workflows = new WorkflowClient(http);
        var thread = AgentClient.NewThreadKey("wf");

        var run = await workflows.StartAsync("agent_turn", new JsonObject { ["text"] = "summarise the incidents\n[fake] deltas=2", ["thread_key"] = thread });
        var detail = await workflows.WaitAsync(WorkflowClient.RunId(run));
        var transcript = JsonNode.Parse(await http.GetStringAsync($"/agent/threads/{Uri.EscapeDataString(thread)}"))!["transcript"]!.AsArray();

        Assert.Equal("succeeded", WorkflowClient.State(detail));
        var result = detail["run"]!["result"]!;
        Assert.Equal("succeeded", result["state"]!.GetValue<string>());
        Assert.Equal("turn 1: summarise the incidents", result["result"]!.GetValue<string>());
        Assert.Equal(thread, result["thread_key"]!.GetValue<string>());
        Assert.Equal(result["execution_id"]!.GetValue<long>(), WorkflowClient.Step(detail, "agent-turn:turn")["result"]!.GetValue<long>());
        Assert.Equal("workflow:agent_turn", transcript[0]!["author"]!.GetValue<string>());
    }

    [Fact]
    public async Task ASlashCommandStartsAWorkflowOnceEvenWhenSlackRetries()
    {
        using var http = Api.CreateClient();
        var command = new JsonObject
        {
            ["command"] = "/centaur", ["text"] = """run echo {"report":"weekly"}""", ["user_id"] = "U123", ["channel_id"] = "C456",
            ["team_id"] = "T1", ["trigger_id"] = $"trig-{Guid.NewGuid():N}",
        };

        using var first = await http.PostAsJsonAsync("/workflows/slash-command", command);
        using var retry = await http.PostAsJsonAsync("/workflows/slash-command", command);
        using var help = await http.PostAsJsonAsync("/workflows/slash-command", new JsonObject { ["command"] = "/centaur", ["text"] = "help" });
        var answer = JsonNode.Parse(await first.Content.ReadAsStringAsync())!;
        var runId = answer["run_id"]!.GetValue<long>();
        var detail = await new WorkflowClient(http).WaitAsync(runId);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("ephemeral", answer["response_type"]!.GetValue<string>());
        Assert.Equal($"Started workflow echo (run {runId}).", answer["text"]!.GetValue<string>());
        Assert.Equal(runId, JsonNode.Parse(await retry.Content.ReadAsStringAsync())!["run_id"]!.GetValue<long>());
        Assert.Equal("slack", detail["run"]!["trigger"]!.GetValue<string>());
        Assert.Equal("weekly", detail["run"]!["input"]!["report"]!.GetValue<string>());
        Assert.Equal("U123", detail["run"]!["input"]!["slack"]!["user_id"]!.GetValue<string>());
        Assert.Equal("weekly", detail["run"]!["result"]!["report"]!.GetValue<string>());
        Assert.StartsWith("Usage: /centaur run <workflow>", JsonNode.Parse(await help.Content.ReadAsStringAsync())!["text"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ACronScheduleFiresOncePerPeriodWithTwoReplicasRunning()
    {
        var folder = TestOverlayFolder.Create();
        var settings = TestOverlayFolder.Settings(folder);
        settings["TestOverlay__TickerCron"] = "*/2 * * * * *";
        var launched = DateTimeOffset.UtcNow;
        await using var first = await OverlayApi.StartAsync(fixture, settings);
        var firing = DateTimeOffset.UtcNow;
        await using var second = new ApiProcess(first.ConnectionString, settings);
        await second.StartAsync(CancellationToken.None);

        await Task.Delay(TimeSpan.FromSeconds(10));
        var stopping = DateTimeOffset.UtcNow;
        await second.DisposeAsync();
        await first.DisposeAsync();
        var stopped = DateTimeOffset.UtcNow;

        await using var db = NpgsqlDataSource.Create(first.ConnectionString);
        var runs = new List<(string Key, string State, string CreatedBy)>();
        await using (var command = db.CreateCommand("SELECT idempotency_key, state, created_by FROM workflow_runs WHERE workflow = 'ticker' ORDER BY id"))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                runs.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2)));
            }
        }

        // A tick is recorded as "run-<id>" each time a run's step really executed.
        var ticks = await OverlayApi.EffectsAsync(first.ConnectionString, "tick");
        // One run per 2-second period while an API was up; a period can collapse into the next only if both
        // replicas' ticks were starved for over 2 s at once.
        var periods = runs.Select(r => DateTimeOffset.Parse(r.Key["cron:".Length..], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(runs.Count, periods.Distinct().Count());
        Assert.All(periods, p => Assert.Equal(0, p.Second % 2));
        Assert.Equal(periods.Order(), periods);
        var span = (int)((periods[^1] - periods[0]).TotalSeconds / 2) + 1;
        Assert.InRange(runs.Count, span - 1, span);
        // At least every period while the first replica was surely up; at most one per period while any could have been.
        Assert.InRange(runs.Count, (int)((stopping - firing).TotalSeconds / 2) - 1, (int)((stopped - launched).TotalSeconds / 2) + 1);
        Assert.All(runs, r => Assert.StartsWith("scheduler@", r.CreatedBy, StringComparison.Ordinal));
        Assert.All(ticks.Values, count => Assert.Equal(1, count));
        Assert.True(ticks.Count >= runs.Count(r => r.State == "succeeded"), $"{ticks.Count} ticks for {runs.Count} runs");
        Assert.True(ticks.Count >= runs.Count - 2, $"{ticks.Count} ticks for {runs.Count} runs");
        Directory.Delete(folder, recursive: true);
    }

    private async Task<long> CountRunsAsync()
    {
        await using var db = NpgsqlDataSource.Create(Api.ConnectionString);
        await using var command = db.CreateCommand("SELECT count(*) FROM workflow_runs");
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task WaitForEffectAsync(string connectionString, string tag, string what)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!(await OverlayApi.EffectsAsync(connectionString, tag)).ContainsKey(what))
        {
            await Task.Delay(50, cts.Token);
        }
    }
}
