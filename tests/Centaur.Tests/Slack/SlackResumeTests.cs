using Centaur.Slack.Replies;
using Centaur.Tests.Fakes.FakeCentaurApi;
using Centaur.Tests.Fakes.FakeSlack;
using Centaur.Tests.Infrastructure;

namespace Centaur.Tests.Slack;

/// <summary>Exactly once across crashes: the adapter restarts mid-stream, SSE streams break, the outbox is absent.</summary>
[Collection(AppCollection.Name)]
public sealed class SlackResumeTests(CentaurAppFixture fixture) : IAsyncLifetime
{
    private SlackTestBed _bed = null!;

    public async ValueTask InitializeAsync() => _bed = await SlackTestBed.StartAsync(fixture);

    public ValueTask DisposeAsync() => _bed.DisposeAsync();

    [Fact]
    public async Task TheAdapterKilledMidStreamCompletesTheSameMessageAfterRestartWithNoDuplicate()
    {
        var channel = SlackPayloads.NewChannel();
        var ts = SlackPayloads.NewTs();
        var resume = new TaskCompletionSource();
        _bed.Api.Script = async turn =>
        {
            turn.Delta("Looking at the billing tests. ");
            await resume.Task.WaitAsync(turn.Cancelled);
            turn.Delta("The fixture uses the wrong currency.");
            return FakeOutcome.Succeeded("Looking at the billing tests. The fixture uses the wrong currency.");
        };

        await _bed.PostEventAsync(SlackPayloads.AppMention(channel, ts, "why are the billing tests failing?"));
        var live = (await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Count == 1 && r[0].HasButton(ReplyPoster.StopAction), "the answer streams")).Single();
        await FakeSlackServer.WaitUntilAsync(() => _bed.ScalarAsync("SELECT count(*) FROM slack_replies WHERE live_ts IS NOT NULL AND sse_cursor > 0").Result == 1, SlackTestBed.Timeout, "the cursor is stored");

        await _bed.StopAdapterAsync();
        resume.SetResult();
        await FakeSlackServer.WaitUntilAsync(() => _bed.Api.Executions.Single().State == "succeeded", SlackTestBed.Timeout, "the turn finishes while the adapter is down");
        _bed.StartAdapter();

        var final = (await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Count == 1 && !r[0].HasButton(ReplyPoster.StopAction), "the resumed answer is final")).Single();
        Assert.Equal(live.Ts, final.Ts);
        Assert.Equal("Looking at the billing tests. The fixture uses the wrong currency.", final.Text);
        Assert.Single(_bed.Slack.CallsTo("chat.postMessage"));
        await FakeSlackServer.WaitUntilAsync(() => _bed.Api.Deliveries.Single().Acks == 1, SlackTestBed.Timeout, "the delivery is acknowledged");
        Assert.Equal($"{channel}:{live.Ts}", _bed.Api.Deliveries.Single().ExternalRef);
    }

    [Fact]
    public async Task ABrokenEventStreamResumesAfterTheLastEventWithoutRepeatingText()
    {
        var channel = SlackPayloads.NewChannel();
        var ts = SlackPayloads.NewTs();
        var next = new TaskCompletionSource();
        _bed.Api.Script = async turn =>
        {
            turn.Delta("one ");
            await next.Task.WaitAsync(turn.Cancelled);
            turn.Delta("two ");
            turn.Delta("three");
            await Task.Delay(1500, turn.Cancelled);
            return FakeOutcome.Succeeded("");
        };

        await _bed.PostEventAsync(SlackPayloads.AppMention(channel, ts, "count"));
        await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Count == 1 && r[0].Shown.Contains("one", StringComparison.Ordinal), "the first word");
        _bed.Api.BreakStreams();
        next.SetResult();

        var final = (await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Count == 1 && !r[0].HasButton(ReplyPoster.StopAction), "the answer")).Single();
        Assert.Equal("one two three", final.Text);
    }

    [Fact]
    public async Task WithoutTheOutboxTheStreamDeliversTheFinalAnswerOnce()
    {
        _bed.Api.OutboxEnabled = false;
        var channel = SlackPayloads.NewChannel();
        var ts = SlackPayloads.NewTs();

        await _bed.PostEventAsync(SlackPayloads.AppMention(channel, ts, "hello"));

        var final = (await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Count == 1 && !r[0].HasButton(ReplyPoster.StopAction), "the answer")).Single();
        await Task.Delay(1000, TestContext.Current.CancellationToken);
        Assert.Equal("Hello from the fake agent.", final.Text);
        Assert.Single(_bed.Slack.Thread(channel, ts), m => m.BotId is not null);
        Assert.Equal(1, await _bed.ScalarAsync("SELECT count(*) FROM slack_replies WHERE state = 'delivered'"));
    }
}
