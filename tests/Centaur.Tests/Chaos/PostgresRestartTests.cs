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

        var (thread, received) = await ChaosAssert.SurvivesMidTurnAsync(api, Prompt,
            (_, _) => fixture.Postgres.CrashAndRestartAsync(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken));

        Assert.True(api.ProcessId is { } pid && Directory.Exists($"/proc/{pid}"), "the API survived the database restart");
        // The outage cost the worker its lease; the turn was replayed into a fresh sandbox, not sent twice to the old one.
        Assert.Contains(received, e => e.Type == "status" && e.Data["replay"]?.GetValue<bool>() == true);

        // The worker and its LISTEN connection recovered too: the next turn on the thread runs as usual.
        var agent = new AgentClient(api.CreateClient());
        await agent.MessageAsync(thread, "and once more\n[fake] deltas=2");
        var next = (await agent.ExecuteAsync(thread))["execution_id"]!.GetValue<long>();
        var nextEvents = await ResumingEventReader.ReadToEndAsync(() => api.CreateClient(), thread, next, null, ChaosAssert.TurnTimeout);
        Assert.Equal("succeeded", nextEvents[^1].State);
    }
}
