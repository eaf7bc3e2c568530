using Centaur.Tests.ControlPlane;
using Centaur.Tests.Infrastructure;

namespace Centaur.Tests.Chaos;

/// <summary>
/// Postgres (every one of its processes) SIGKILLed while a turn streams and started again a moment later; the API
/// keeps running through it.
/// </summary>
[Collection(ChaosCollection.Name)]
public sealed class PostgresRestartTests(ChaosFixture fixture)
{
    private const string Prompt = "an answer that outlives its database\n[fake] deltas=20 delay_ms=150";

    [Fact]
    public async Task ATurnRunningWhilePostgresRestartsFinishesExactlyOnceWithTheSameAnswer()
    {
        await using var api = await fixture.StartApiAsync();
        var agent = new AgentClient(api.CreateClient());
        var undisturbed = await ChaosAssert.UndisturbedAnswerAsync(agent, Prompt);
        var thread = AgentClient.NewThreadKey("chaos");
        var id = (await agent.AskAsync(thread, Prompt))["execution_id"]!.GetValue<long>();

        var before = await EventStreamReader.ReadAsync(agent.Http, thread, executionId: id,
            stopWhen: e => e.Type == "assistant_delta", timeout: ChaosAssert.TurnTimeout);
        Assert.Contains(before, e => e.Type == "assistant_delta");
        await fixture.Postgres.CrashAndRestartAsync(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);
        var after = await ResumingEventReader.ReadToEndAsync(() => api.CreateClient(), thread, id, before[^1].Id, ChaosAssert.TurnTimeout);

        Assert.True(api.ProcessId is { } pid && Directory.Exists($"/proc/{pid}"), "the API survived the database restart");
        var received = before.Concat(after).ToList();
        ChaosAssert.EachEventOnceInOrder(received);
        await ChaosAssert.SameAsStoredAsync(() => api.CreateClient(), thread, id, received);
        Assert.Equal("succeeded", received[^1].State);
        // The outage cost the worker its lease; the turn was replayed into a fresh sandbox, not sent twice to the old one.
        Assert.Contains(received, e => e.Type == "status" && e.Data["replay"]?.GetValue<bool>() == true);
        Assert.Equal(undisturbed, received[^1].Data["result"]!.GetValue<string>());
        await ChaosAssert.OneTurnOneAnswerAsync(api.ConnectionString, thread);

        // The worker and its LISTEN connection recovered too: the next turn on the thread runs as usual.
        await agent.MessageAsync(thread, "and once more\n[fake] deltas=2");
        var next = (await agent.ExecuteAsync(thread))["execution_id"]!.GetValue<long>();
        var nextEvents = await ResumingEventReader.ReadToEndAsync(() => api.CreateClient(), thread, next, null, ChaosAssert.TurnTimeout);
        Assert.Equal("succeeded", nextEvents[^1].State);
    }
}
