using Centaur.Tests.Infrastructure;

namespace Centaur.Tests.ControlPlane;

/// <summary>A sandbox that dies mid-turn: replay when nothing happened yet, never when something did.</summary>
[Collection(AppCollection.Name)]
public sealed class ReplayTests(CentaurAppFixture fixture)
{
    private async Task<AgentClient> ClientAsync() => new((await fixture.SharedApiAsync()).CreateClient());

    [Fact]
    public async Task ASandboxThatDiesBeforeAnySideEffectIsReplacedAndTheTurnReplayed()
    {
        var agent = await ClientAsync();
        var thread = AgentClient.NewThreadKey();
        var marker = Path.Combine(Path.GetTempPath(), $"centaur-die-once-{Guid.NewGuid():N}");

        var execution = await agent.AskAsync(thread, $"survive this\n[fake] die=once:{marker}");
        var events = await agent.WaitForEndAsync(thread, execution["execution_id"]!.GetValue<long>());

        Assert.Equal("succeeded", events[^1].State);
        Assert.Equal("turn 1: survive this", events[^1].Data["result"]!.GetValue<string>());
        var replay = Assert.Single(events, e => e.Type == "status" && e.Data["replay"]?.GetValue<bool>() == true);
        Assert.Equal(2, replay.Data["attempt"]!.GetValue<int>());
        File.Delete(marker);
    }

    [Fact]
    public async Task ASandboxThatAlwaysDiesFailsTheExecutionAfterTheCapWithAClearError()
    {
        var agent = await ClientAsync();
        var thread = AgentClient.NewThreadKey();

        var execution = await agent.AskAsync(thread, "doomed\n[fake] die=always");
        var events = await agent.WaitForEndAsync(thread, execution["execution_id"]!.GetValue<long>());

        Assert.Equal("failed", events[^1].State);
        Assert.Equal("replay_limit", events[^1].Data["error"]!["code"]!.GetValue<string>());
        Assert.Equal(2, events.Count(e => e.Type == "status" && e.Data["replay"]?.GetValue<bool>() == true));
        Assert.Contains(events, e => e.Type == "error" && e.Data["code"]!.GetValue<string>() == "replay_limit");
    }

    [Fact]
    public async Task ASandboxThatDiesAfterASideEffectEndsInterruptedIsNotReplayedAndResumeContinues()
    {
        var agent = await ClientAsync();
        var thread = AgentClient.NewThreadKey();

        var execution = await agent.AskAsync(thread, "deploy it\n[fake] tool=centaur.thread_status die=always");
        var id = execution["execution_id"]!.GetValue<long>();
        var events = await agent.WaitForEndAsync(thread, id);

        Assert.Equal("interrupted", events[^1].State);
        Assert.DoesNotContain(events, e => e.Type == "status" && e.Data["replay"]?.GetValue<bool>() == true);
        var effect = Assert.Single(events[^1].Data["effects"]!.AsArray());
        Assert.Equal("tool", effect!["source"]!.GetValue<string>());
        Assert.Equal("centaur.thread_status", effect["target"]!.GetValue<string>());

        using var resume = await agent.Http.PostAsync($"/agent/executions/{id}/resume", null);
        using var resumeAgain = await agent.Http.PostAsync($"/agent/executions/{id}/resume", null);
        var resumed = System.Text.Json.Nodes.JsonNode.Parse(await resume.Content.ReadAsStringAsync())!;
        var resumedAgain = System.Text.Json.Nodes.JsonNode.Parse(await resumeAgain.Content.ReadAsStringAsync())!;
        var resumedEvents = await agent.WaitForEndAsync(thread, resumed["execution_id"]!.GetValue<long>());

        Assert.Equal(resumed["execution_id"]!.GetValue<long>(), resumedAgain["execution_id"]!.GetValue<long>());
        Assert.Equal("succeeded", resumedEvents[^1].State);
        var result = resumedEvents[^1].Data["result"]!.GetValue<string>();
        Assert.Contains("interrupted", result, StringComparison.Ordinal);
        Assert.Contains("tool: CALL centaur.thread_status", result, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ResumingAnExecutionThatWasNotInterruptedIsRefused()
    {
        var agent = await ClientAsync();
        var thread = AgentClient.NewThreadKey();
        var execution = await agent.AskAsync(thread, "fine");
        var id = execution["execution_id"]!.GetValue<long>();
        await agent.WaitForEndAsync(thread, id);

        using var resume = await agent.Http.PostAsync($"/agent/executions/{id}/resume", null);

        Assert.Equal(System.Net.HttpStatusCode.Conflict, resume.StatusCode);
        Assert.Contains("\"code\":\"not_interrupted\"", await resume.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
