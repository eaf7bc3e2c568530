using Centaur.Tests.Fakes.FakeSlack;
using Centaur.Tests.Slack;

namespace Centaur.Tests.EndToEnd;

/// <summary>`/centaur run &lt;workflow&gt; [input]` in Slack starts a durable workflow run on the real API, once.</summary>
[Collection(FullChainCollection.Name)]
public sealed class SlashCommandWorkflowTests(FullChainFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ARunCommandStartsTheWorkflowOnceAndTellsOnlyTheAskerWhichRun()
    {
        var channel = SlackPayloads.NewChannel();
        var trigger = Guid.NewGuid().ToString("N");

        // Slack retries a command it got no answer to; the second delivery carries the same trigger_id.
        await SendCommandAsync(channel, "run echo nightly report", trigger);
        await SendCommandAsync(channel, "run echo nightly report", trigger);

        await FakeSlackServer.WaitUntilAsync(() => Ephemerals(channel).Count >= 1, TimeSpan.FromSeconds(30), "the asker is told which run started");
        var told = (string)Ephemerals(channel)[0].Args["text"]!;
        Assert.StartsWith("Started workflow echo (run ", told, StringComparison.Ordinal);
        await using var runs = fixture.Db.CreateCommand("SELECT count(*) FROM workflow_runs WHERE idempotency_key = @key AND trigger = 'slack' AND input->>'text' = 'nightly report'");
        runs.Parameters.AddWithValue("key", $"slack:{trigger}");
        Assert.Equal(1L, await runs.ExecuteScalarAsync(Ct));
        Assert.Empty(fixture.Slack.BotMessages(channel));
    }

    [Fact]
    public async Task AnUnknownWorkflowIsExplainedToTheAskerAndStartsNothing()
    {
        var channel = SlackPayloads.NewChannel();
        await using var count = fixture.Db.CreateCommand("SELECT count(*) FROM workflow_runs");
        var before = (long)(await count.ExecuteScalarAsync(Ct))!;

        await SendCommandAsync(channel, "run no-such-flow", Guid.NewGuid().ToString("N"));

        await FakeSlackServer.WaitUntilAsync(() => Ephemerals(channel).Count == 1, TimeSpan.FromSeconds(30), "the asker is told why");
        Assert.Contains("no workflow 'no-such-flow'", (string)Ephemerals(channel)[0].Args["text"]!, StringComparison.Ordinal);
        Assert.Equal(before, (long)(await count.ExecuteScalarAsync(Ct))!);
    }

    private List<SlackCall> Ephemerals(string channel) =>
        [.. fixture.Slack.CallsTo("chat.postEphemeral").Where(c => (string?)c.Args["channel"] == channel)];

    private async Task SendCommandAsync(string channel, string text, string triggerId)
    {
        using var slack = fixture.App.CreateHttpClient("slack");
        var form = $"token=x&team_id=T0001&channel_id={channel}&user_id=UALICE&user_name=alice&command=%2Fcentaur&text={Uri.EscapeDataString(text)}&api_app_id=A0001&trigger_id={triggerId}";
        using var response = await slack.SendAsync(SignedSlackRequest.Build("/slack/commands", form, "application/x-www-form-urlencoded"), Ct);
        response.EnsureSuccessStatusCode();
    }
}
