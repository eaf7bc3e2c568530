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

        await ChaosAssert.SurvivesMidTurnAsync(api, Prompt, async (_, _) =>
        {
            api.Kill();
            await api.StartAsync(TestContext.Current.CancellationToken);
        });
    }
}
