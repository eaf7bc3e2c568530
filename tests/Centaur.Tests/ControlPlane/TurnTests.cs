using System.Text.Json.Nodes;
using Centaur.Tests.Infrastructure;

namespace Centaur.Tests.ControlPlane;

[Collection(AppCollection.Name)]
public sealed class TurnTests(CentaurAppFixture fixture)
{
    private async Task<AgentClient> ClientAsync() => new((await fixture.SharedApiAsync()).CreateClient());

    [Fact]
    public async Task SpawnMessageExecuteStreamsDeltasAndTheTerminalState()
    {
        var agent = await ClientAsync();
        var thread = AgentClient.NewThreadKey();

        var execution = await agent.AskAsync(thread, "why are the billing tests failing?\n[fake] deltas=4");
        var events = await agent.WaitForEndAsync(thread, execution["execution_id"]!.GetValue<long>());

        Assert.Equal("queued", execution["state"]!.GetValue<string>());
        Assert.Equal(["queued", "running", "succeeded"], events.Where(e => e.State is not null).Select(e => e.State!));
        var deltas = events.Where(e => e.Type == "assistant_delta").Select(e => e.Data["text"]!.GetValue<string>()).ToList();
        Assert.Equal(4, deltas.Count);
        Assert.Equal("turn 1: why are the billing tests failing?", string.Concat(deltas));
        Assert.Equal("turn 1: why are the billing tests failing?", events[^1].Data["result"]!.GetValue<string>());
        Assert.Equal(events.Select(e => e.Id).Order(), events.Select(e => e.Id));
    }

    [Fact]
    public async Task AClientThatConnectsAfterTheEndGetsTheTerminalSnapshot()
    {
        var agent = await ClientAsync();
        var thread = AgentClient.NewThreadKey();
        var execution = await agent.AskAsync(thread, "hello");
        var all = await agent.WaitForEndAsync(thread, execution["execution_id"]!.GetValue<long>());

        var late = await EventStreamReader.ReadAsync(agent.Http, thread, afterEventId: all[^1].Id, timeout: TimeSpan.FromSeconds(10));

        var snapshot = Assert.Single(late);
        Assert.Equal("succeeded", snapshot.State);
        Assert.Equal(all[^1].Id, snapshot.Id);
        Assert.Equal("turn 1: hello", snapshot.Data["result"]!.GetValue<string>());
    }

    [Fact]
    public async Task ASecondTurnContinuesTheSameSandboxSession()
    {
        var agent = await ClientAsync();
        var thread = AgentClient.NewThreadKey();
        var first = await agent.AskAsync(thread, "one");
        await agent.WaitForEndAsync(thread, first["execution_id"]!.GetValue<long>());

        await agent.MessageAsync(thread, "two");
        var second = await agent.ExecuteAsync(thread);
        var events = await agent.WaitForEndAsync(thread, second["execution_id"]!.GetValue<long>());

        Assert.Equal("turn 2: two", events[^1].Data["result"]!.GetValue<string>());
        var detail = JsonNode.Parse(await agent.Http.GetStringAsync($"/agent/threads/{Uri.EscapeDataString(thread)}"))!;
        Assert.Equal(["one", "turn 1: one", "two", "turn 2: two"], detail["transcript"]!.AsArray().Select(m => m!["text"]!.GetValue<string>()));
        Assert.Equal("ready", detail["session"]!["state"]!.GetValue<string>());
    }

    [Fact]
    public async Task DuplicateMessagesAndExecutesCreateNothingNew()
    {
        var agent = await ClientAsync();
        var thread = AgentClient.NewThreadKey();
        await agent.SpawnAsync(thread);

        var first = await agent.MessageAsync(thread, "once", clientMessageId: "m-1");
        var again = await agent.MessageAsync(thread, "once", clientMessageId: "m-1");
        var execution = await agent.ExecuteAsync(thread, "exec-1");
        var repeated = await agent.ExecuteAsync(thread, "exec-1");
        await agent.WaitForEndAsync(thread, execution["execution_id"]!.GetValue<long>());

        Assert.False(first["duplicate"]!.GetValue<bool>());
        Assert.True(again["duplicate"]!.GetValue<bool>());
        Assert.Equal(first["message_id"]!.GetValue<long>(), again["message_id"]!.GetValue<long>());
        Assert.Equal(execution["execution_id"]!.GetValue<long>(), repeated["execution_id"]!.GetValue<long>());
        var detail = JsonNode.Parse(await agent.Http.GetStringAsync($"/agent/threads/{Uri.EscapeDataString(thread)}"))!;
        Assert.Single(detail["executions"]!.AsArray());
        Assert.Equal(2, detail["transcript"]!.AsArray().Count);
    }

    [Fact]
    public async Task TwentyConcurrentExecutesOnOneThreadRunOneAtATimeInOrder()
    {
        var agent = await ClientAsync();
        var thread = AgentClient.NewThreadKey();
        await agent.SpawnAsync(thread);

        var executions = await Task.WhenAll(Enumerable.Range(1, 20).Select(async i =>
        {
            await agent.MessageAsync(thread, $"message {i}\n[fake] delay_ms=5");
            return await agent.ExecuteAsync(thread, $"exec-{i}");
        }));
        var ids = executions.Select(e => e["execution_id"]!.GetValue<long>()).Distinct().Order().ToList();
        foreach (var id in ids)
        {
            await agent.WaitForEndAsync(thread, id);
        }

        var finished = await Task.WhenAll(ids.Select(agent.GetExecutionAsync));
        var log = (await fixture.SharedApiAsync()).RecentLog;
        Assert.All(finished, e => Assert.True(e["state"]!.GetValue<string>() == "succeeded", e.ToJsonString() + "\n" + log));
        var spans = finished.Select(e => (Start: e["started_at"]!.GetValue<DateTimeOffset>(), End: e["finished_at"]!.GetValue<DateTimeOffset>())).ToList();
        for (var i = 1; i < spans.Count; i++)
        {
            // strictly serialized, in id order: each starts after the previous one ended
            Assert.True(spans[i].Start >= spans[i - 1].End, $"execution {ids[i]} started before {ids[i - 1]} ended");
        }

        var detail = JsonNode.Parse(await agent.Http.GetStringAsync($"/agent/threads/{Uri.EscapeDataString(thread)}"))!;
        var answered = detail["transcript"]!.AsArray().Where(m => m!["role"]!.GetValue<string>() == "assistant")
            .Select(m => m!["text"]!.GetValue<string>()).ToList();
        Assert.All(Enumerable.Range(1, 20), i => Assert.Contains(answered, a => a.Contains($"message {i}\n", StringComparison.Ordinal) || a.EndsWith($"message {i}", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task CancelInterruptsARunningTurn()
    {
        var agent = await ClientAsync();
        var thread = AgentClient.NewThreadKey();
        var execution = await agent.AskAsync(thread, "take your time\n[fake] hang=true");
        var id = execution["execution_id"]!.GetValue<long>();
        await EventStreamReader.ReadAsync(agent.Http, thread, executionId: id, stopWhen: e => e.State == "running");

        using var cancel = await agent.Http.PostAsync($"/agent/executions/{id}/cancel", null);
        var events = await agent.WaitForEndAsync(thread, id);

        Assert.Equal(System.Net.HttpStatusCode.Accepted, cancel.StatusCode);
        Assert.Equal("cancelled", events[^1].State);
    }

    [Fact]
    public async Task ASlackThreadsFinalAnswerIsDeliveredOnceThroughTheOutbox()
    {
        var agent = await ClientAsync();
        var thread = AgentClient.NewThreadKey("slack");
        var execution = await agent.AskAsync(thread, "deliver me");
        var id = execution["execution_id"]!.GetValue<long>();
        await agent.WaitForEndAsync(thread, id);

        var claimed = await ClaimAsync(agent);
        var mine = Assert.Single(claimed, d => d!["execution_id"]!.GetValue<long>() == id)!;
        var again = await ClaimAsync(agent);
        using var ack = await agent.Http.PostAsync($"/agent/deliveries/{mine["delivery_id"]}/ack",
            JsonContent(new JsonObject { ["lease_token"] = mine["lease_token"]!.GetValue<string>(), ["external_ref"] = "1700000000.000200" }));
        using var wrongToken = await agent.Http.PostAsync($"/agent/deliveries/{mine["delivery_id"]}/ack",
            JsonContent(new JsonObject { ["lease_token"] = "not-the-token" }));

        Assert.Equal("turn 1: deliver me", mine["result"]!.GetValue<string>());
        Assert.DoesNotContain(again, d => d!["execution_id"]!.GetValue<long>() == id);
        Assert.True(ack.IsSuccessStatusCode);
        Assert.Equal(System.Net.HttpStatusCode.Conflict, wrongToken.StatusCode);
    }

    private static async Task<JsonArray> ClaimAsync(AgentClient agent)
    {
        using var response = await agent.Http.PostAsync("/agent/deliveries/claim",
            JsonContent(new JsonObject { ["client"] = "slack", ["max"] = 100, ["lease_seconds"] = 60 }));
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsArray();
    }

    internal static StringContent JsonContent(JsonObject body) =>
        new(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json");
}
