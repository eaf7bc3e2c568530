using Centaur.Tests.Infrastructure;
using Npgsql;

namespace Centaur.Tests.ControlPlane;

[Collection(AppCollection.Name)]
public sealed class ApiCrashTests(CentaurAppFixture fixture)
{
    [Fact]
    public async Task AnApiKilledMidTurnFinishesTheTurnExactlyOnceAfterRestartAndStreamsResumeWithoutDuplicates()
    {
        await using var api = await fixture.StartApiProcessAsync();
        using var http = api.CreateClient();
        var agent = new AgentClient(http);
        var thread = AgentClient.NewThreadKey();
        var execution = await agent.AskAsync(thread, "long answer\n[fake] deltas=30 delay_ms=100");
        var id = execution["execution_id"]!.GetValue<long>();

        var before = await EventStreamReader.ReadAsync(http, thread, executionId: id,
            stopWhen: e => e.Type == "assistant_delta" && e.Data["text"]!.GetValue<string>().Length > 0 && CountDeltas(e) >= 0, timeout: TimeSpan.FromSeconds(30));
        var seenDeltas = before.Count(e => e.Type == "assistant_delta");
        api.Kill();
        await api.StartAsync(CancellationToken.None);
        using var http2 = api.CreateClient();
        var after = await EventStreamReader.ReadAsync(http2, thread, afterEventId: before[^1].Id, executionId: id, timeout: TimeSpan.FromSeconds(90));

        var all = before.Concat(after).ToList();
        Assert.True(seenDeltas >= 1);
        Assert.Equal(all.Select(e => e.Id).Distinct().Count(), all.Count);
        Assert.Equal(all.Select(e => e.Id).Order(), all.Select(e => e.Id));
        Assert.Equal("succeeded", all[^1].State);
        Assert.Equal("turn 1: long answer", all[^1].Data["result"]!.GetValue<string>());
        Assert.Single(all, e => e.State is "succeeded" or "failed" or "cancelled" or "interrupted");

        await using var db = NpgsqlDataSource.Create(api.ConnectionString);
        await using var answers = db.CreateCommand("SELECT count(*) FROM chat_messages WHERE execution_id = @id AND role = 'assistant'");
        answers.Parameters.AddWithValue("id", id);
        Assert.Equal(1L, await answers.ExecuteScalarAsync());
    }

    private static int CountDeltas(ReceivedEvent e) => e.Type == "assistant_delta" ? 1 : 0;
}
