using Centaur.Tests.ControlPlane;
using Centaur.Tests.Infrastructure;

namespace Centaur.Tests.Chaos;

/// <summary>Centaur.Api SIGKILLed while a turn streams, then started again over the same database.</summary>
[Collection(ChaosCollection.Name)]
public sealed class ApiKilledMidTurnTests(ChaosFixture fixture)
{
    private const string Prompt = "long answer\n[fake] deltas=30 delay_ms=100";

    [Fact]
    public async Task AnApiKilledMidTurnFinishesTheTurnExactlyOnceAfterRestartAndStreamsResumeWithoutDuplicates()
    {
        await using var api = await fixture.StartApiAsync();
        var agent = new AgentClient(api.CreateClient());
        var undisturbed = await ChaosAssert.UndisturbedAnswerAsync(agent, Prompt);
        var thread = AgentClient.NewThreadKey("chaos");
        var id = (await agent.AskAsync(thread, Prompt))["execution_id"]!.GetValue<long>();

        var before = await EventStreamReader.ReadAsync(agent.Http, thread, executionId: id,
            stopWhen: e => e.Type == "assistant_delta", timeout: ChaosAssert.TurnTimeout);
        Assert.Contains(before, e => e.Type == "assistant_delta");
        api.Kill();
        await api.StartAsync(TestContext.Current.CancellationToken);
        var after = await ResumingEventReader.ReadToEndAsync(() => api.CreateClient(), thread, id, before[^1].Id, ChaosAssert.TurnTimeout);

        var received = before.Concat(after).ToList();
        ChaosAssert.EachEventOnceInOrder(received);
        await ChaosAssert.SameAsStoredAsync(() => api.CreateClient(), thread, id, received);
        Assert.Equal("succeeded", received[^1].State);
        Assert.Equal(undisturbed, received[^1].Data["result"]!.GetValue<string>());
        await ChaosAssert.OneTurnOneAnswerAsync(api.ConnectionString, thread);
    }
}
