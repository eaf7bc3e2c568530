using Centaur.Slack.Replies;
using Centaur.Tests.Fakes.FakeSlack;
using Centaur.Tests.Infrastructure;

namespace Centaur.Tests.Slack;

/// <summary>
/// The adapter against the REAL control plane (a Centaur.Api process whose sandboxes run the FakeSandbox): Slack
/// events become real executions, the real SSE stream is rendered, and the real outbox delivers the final answer.
/// </summary>
[Collection(AppCollection.Name)]
public sealed class SlackControlPlaneTests(CentaurAppFixture fixture) : IAsyncLifetime
{
    private SlackTestBed _bed = null!;

    public async ValueTask InitializeAsync()
    {
        var api = await fixture.SharedApiAsync();
        _bed = await SlackTestBed.StartAsync(fixture, new()
        {
            ["Api:BaseUrl"] = api.BaseAddress.ToString(),
            ["Api:Key"] = ApiProcess.AgentKey,
        });
    }

    public ValueTask DisposeAsync() => _bed.DisposeAsync();

    [Fact]
    public async Task AnAppMentionStreamsTheRealAnswerIntoItsThreadAndTheOutboxIsAcknowledged()
    {
        var channel = SlackPayloads.NewChannel();
        var ts = SlackPayloads.NewTs();

        await _bed.PostEventAsync(SlackPayloads.AppMention(channel, ts, "why are the billing tests failing?\n[fake] deltas=6 delay_ms=250"));

        var live = (await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Count == 1 && r[0].HasButton(ReplyPoster.StopAction), "the answer streams")).Single();
        Assert.StartsWith("turn 1:", live.Shown, StringComparison.Ordinal);
        var final = (await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Count == 1 && !r[0].HasButton(ReplyPoster.StopAction), "the final answer")).Single();
        Assert.Equal(live.Ts, final.Ts);
        Assert.Equal("turn 1: why are the billing tests failing?", final.Text);
        Assert.Single(_bed.Slack.CallsTo("chat.postMessage"));
        await FakeSlackServer.WaitUntilAsync(
            () => _bed.ScalarAsync("SELECT count(*) FROM slack_replies WHERE state = 'delivered' AND final_ref = @ref", ("ref", $"{channel}:{final.Ts}")).Result == 1,
            SlackTestBed.Timeout, "the reply is recorded as delivered");
    }

    [Fact]
    public async Task RetriedDeliveriesAndAFollowUpMakeExactlyTwoTurnsInOneSession()
    {
        var channel = SlackPayloads.NewChannel();
        var ts = SlackPayloads.NewTs();
        var eventId = SlackPayloads.NewEventId();
        var mention = SlackPayloads.AppMention(channel, ts, "first question");

        foreach (var retry in new int?[] { null, 1, 2, 3 })
        {
            using var response = await _bed.PostEventAsync(mention, eventId, retry);
            Assert.True(response.IsSuccessStatusCode);
        }

        await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Count == 1 && r[0].Text == "turn 1: first question", "the first answer");
        await _bed.PostEventAsync(SlackPayloads.AppMention(channel, SlackPayloads.NewTs(), "and a follow-up", threadTs: ts));

        var replies = await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Count == 2 && !r[1].HasButton(ReplyPoster.StopAction), "the follow-up answer");
        Assert.Equal(["turn 1: first question", "turn 2: and a follow-up"], replies.Select(r => r.Text));
    }

    [Fact]
    public async Task TheStopButtonCancelsARealExecution()
    {
        var channel = SlackPayloads.NewChannel();
        var ts = SlackPayloads.NewTs();

        await _bed.PostEventAsync(SlackPayloads.AppMention(channel, ts, "think forever\n[fake] hang=true"));
        await FakeSlackServer.WaitUntilAsync(() => _bed.ScalarAsync("SELECT count(*) FROM slack_replies").Result == 1, SlackTestBed.Timeout, "the execution is being rendered");
        var executionId = await _bed.ScalarAsync("SELECT execution_id FROM slack_replies");

        using var click = await _bed.SendAsync(SignedSlackRequest.Interactivity(SlackPayloads.StopClick(channel, ts, executionId)));

        Assert.True(click.IsSuccessStatusCode);
        var final = (await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Count == 1 && !r[0].HasButton(ReplyPoster.StopAction), "the stopped answer")).Single();
        Assert.Equal("_Stopped._", final.Text);
    }

    [Fact]
    public async Task TheAdapterRestartedMidStreamFinishesTheSameMessage()
    {
        var channel = SlackPayloads.NewChannel();
        var ts = SlackPayloads.NewTs();

        await _bed.PostEventAsync(SlackPayloads.AppMention(channel, ts, "a slow answer\n[fake] deltas=10 delay_ms=400"));
        var live = (await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Count == 1 && r[0].HasButton(ReplyPoster.StopAction), "the answer streams")).Single();
        await _bed.StopAdapterAsync();
        await Task.Delay(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken);
        _bed.StartAdapter();

        var final = (await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Count == 1 && !r[0].HasButton(ReplyPoster.StopAction), "the final answer")).Single();
        Assert.Equal(live.Ts, final.Ts);
        Assert.Equal("turn 1: a slow answer", final.Text);
        Assert.Single(_bed.Slack.CallsTo("chat.postMessage"));
    }
}
