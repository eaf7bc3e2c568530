using Centaur.Slack.Replies;
using Centaur.Tests.Fakes.FakeSlack;
using Centaur.Tests.Infrastructure;
using Centaur.Tests.Slack;

namespace Centaur.Tests.Chaos;

/// <summary>
/// The Slack end of a turn under faults, with every part real but Slack itself: Centaur.Slack and Centaur.Api as OS
/// processes over the chaos Postgres, the FakeSandbox answering, a fake Slack recording every call.
/// </summary>
[Collection(ChaosCollection.Name)]
public sealed class SlackChaosTests(ChaosFixture fixture) : IAsyncLifetime
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(40);
    private FakeSlackServer _slack = null!;
    private ApiProcess _api = null!;

    public async ValueTask InitializeAsync()
    {
        _slack = await FakeSlackServer.StartAsync();
        _api = await fixture.StartApiAsync();
    }

    [Fact]
    public async Task AnEventDeliveredThreeTimesMakesOneTurnAndOneReply()
    {
        await using var adapter = await fixture.StartSlackAsync(_api, _slack.ApiBaseUrl);
        const string Question = "why is the deploy red?";
        var undisturbed = await UndisturbedReplyAsync(adapter, Question);
        var (channel, ts, eventId) = (SlackPayloads.NewChannel(), SlackPayloads.NewTs(), SlackPayloads.NewEventId());
        var mention = SlackPayloads.AppMention(channel, ts, Question);

        // Slack retries when the first delivery seems slow: the same event_id again, twice, overlapping the first.
        using var http = adapter.CreateClient();
        var deliveries = await Task.WhenAll(new int?[] { null, 1, 2 }.Select(retry =>
            http.SendAsync(SignedSlackRequest.Event(SlackPayloads.Callback(mention, eventId), retryNum: retry), TestContext.Current.CancellationToken)));
        var final = await FinalReplyAsync(channel, ts);
        await QuietAsync();

        Assert.All(deliveries, d => Assert.True(d.IsSuccessStatusCode, $"{(int)d.StatusCode}"));
        Assert.Equal(undisturbed, final.Text);
        Assert.Single(BotReplies(channel, ts));
        Assert.Single(_slack.CallsTo("chat.postMessage"), c => (string?)c.Args["channel"] == channel);
        await AssertOneTurnDeliveredAsync(channel, ts);
        foreach (var delivery in deliveries)
        {
            delivery.Dispose();
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnAdapterKilledBetweenAnswerReadyAndPostedPostsTheAnswerExactlyOnceAfterRestart(bool slackAppliedThePost)
    {
        // A long first flush: the answer is ready before anything is shown, so the final answer is one new message.
        await using var adapter = await fixture.StartSlackAsync(_api, _slack.ApiBaseUrl, new Dictionary<string, string>
        {
            ["Slack__FirstFlushDelay"] = "00:00:10",
            ["Slack__DeliveryLease"] = "00:00:05",
        });
        const string Question = "summarise the incident";
        var undisturbed = await UndisturbedReplyAsync(adapter, Question);
        var (channel, ts) = (SlackPayloads.NewChannel(), SlackPayloads.NewTs());
        var killed = new TaskCompletionSource();
        bool IsTheAnswer(SlackCall call) => call.Method == "chat.postMessage" && (string?)call.Args["channel"] == channel && !killed.Task.IsCompleted;
        if (slackAppliedThePost)
        {
            // Slack posted it, but the adapter dies before it hears back (or records the message).
            _slack.AfterApply = call =>
            {
                if (IsTheAnswer(call))
                {
                    adapter.Kill();
                    killed.TrySetResult();
                }
            };
        }
        else
        {
            // The adapter dies with the request in flight: it never reaches Slack.
            _slack.BeforeApply = call =>
            {
                if (!IsTheAnswer(call))
                {
                    return true;
                }

                adapter.Kill();
                killed.TrySetResult();
                return false;
            };
        }

        using (var http = adapter.CreateClient())
        using (var response = await http.SendAsync(SignedSlackRequest.Event(SlackPayloads.Callback(SlackPayloads.AppMention(channel, ts, Question))), TestContext.Current.CancellationToken))
        {
            Assert.True(response.IsSuccessStatusCode);
        }

        await killed.Task.WaitAsync(s_timeout, TestContext.Current.CancellationToken);
        var threadKey = $"slack:{channel}:{ts}";
        Assert.Equal(1, await ChaosAssert.ScalarAsync(_api.ConnectionString,
            "SELECT count(*) FROM agent_execution_requests WHERE thread_key = @thread AND state = 'succeeded'", ("thread", threadKey)));
        Assert.Equal(0, await ChaosAssert.ScalarAsync(_api.ConnectionString,
            "SELECT count(*) FROM slack_replies WHERE thread_key = @thread AND state = 'delivered'", ("thread", threadKey)));
        Assert.Equal(slackAppliedThePost ? 1 : 0, BotReplies(channel, ts).Count);
        await adapter.StartAsync(TestContext.Current.CancellationToken);
        var final = await FinalReplyAsync(channel, ts);
        await QuietAsync();

        Assert.Equal(undisturbed, final.Text);
        Assert.Single(BotReplies(channel, ts));
        await AssertOneTurnDeliveredAsync(channel, ts);
    }

    /// <summary>The reply the same question gets when nothing goes wrong (its own channel and thread).</summary>
    private async Task<string> UndisturbedReplyAsync(ServiceProcess adapter, string question)
    {
        var (channel, ts) = (SlackPayloads.NewChannel(), SlackPayloads.NewTs());
        using var http = adapter.CreateClient();
        using var response = await http.SendAsync(SignedSlackRequest.Event(SlackPayloads.Callback(SlackPayloads.AppMention(channel, ts, question))), TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode);
        var final = await FinalReplyAsync(channel, ts);
        Assert.Single(BotReplies(channel, ts));
        return final.Text;
    }

    private IReadOnlyList<FakeSlackMessage> BotReplies(string channel, string ts) =>
        [.. _slack.Thread(channel, ts).Where(m => m.BotId == FakeSlackServer.BotId)];

    private async Task<FakeSlackMessage> FinalReplyAsync(string channel, string ts)
    {
        await FakeSlackServer.WaitUntilAsync(() => BotReplies(channel, ts) is [var only] && !only.HasButton(ReplyPoster.StopAction), s_timeout, "the final answer is in the thread");
        return BotReplies(channel, ts)[0];
    }

    /// <summary>A late duplicate would come from the outbox's next poll: give it two polls to show up.</summary>
    private static Task QuietAsync() => Task.Delay(TimeSpan.FromSeconds(1.5), TestContext.Current.CancellationToken);

    /// <summary>One execution for the thread; its delivery acknowledged with the one reply's reference.</summary>
    private async Task AssertOneTurnDeliveredAsync(string channel, string ts)
    {
        var threadKey = $"slack:{channel}:{ts}";
        await ChaosAssert.OneTurnOneAnswerAsync(_api.ConnectionString, threadKey);
        await ChaosAssert.EventuallyAsync(async () => await ChaosAssert.ScalarAsync(_api.ConnectionString,
            "SELECT count(*) FROM agent_final_delivery_outbox WHERE thread_key = @thread AND state = 'delivered' AND external_ref = @ref",
            ("thread", threadKey), ("ref", $"{channel}:{BotReplies(channel, ts)[0].Ts}")) == 1, s_timeout, "the delivery is acknowledged");
        Assert.Equal(1, await ChaosAssert.ScalarAsync(_api.ConnectionString,
            "SELECT count(*) FROM agent_message_requests WHERE thread_key = @thread", ("thread", threadKey)));
    }

    public async ValueTask DisposeAsync()
    {
        await _api.DisposeAsync();
        await _slack.DisposeAsync();
    }
}
