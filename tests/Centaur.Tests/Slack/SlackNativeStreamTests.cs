using Centaur.Slack.Replies;
using Centaur.Tests.Fakes.FakeCentaurApi;
using Centaur.Tests.Fakes.FakeSlack;
using Centaur.Tests.Infrastructure;

namespace Centaur.Tests.Slack;

/// <summary>Workspaces that have chat.startStream/appendStream/stopStream get the answer through them.</summary>
[Collection(AppCollection.Name)]
public sealed class SlackNativeStreamTests(CentaurAppFixture fixture) : IAsyncLifetime
{
    private SlackTestBed _bed = null!;

    public async ValueTask InitializeAsync()
    {
        _bed = await SlackTestBed.StartAsync(fixture, new() { ["Slack:MaxStreamChars"] = "1000" });
        _bed.Slack.StreamingSupported = true;
    }

    public ValueTask DisposeAsync() => _bed.DisposeAsync();

    [Fact]
    public async Task TheAnswerIsStreamedAsMarkdownAndStoppedWithTheRest()
    {
        var channel = SlackPayloads.NewChannel();
        var ts = SlackPayloads.NewTs();
        _bed.Api.Script = async turn =>
        {
            foreach (var word in new[] { "The **billing** ", "tests fail ", "because of ", "the currency." })
            {
                turn.Delta(word);
                await Task.Delay(300, turn.Cancelled);
            }

            return FakeOutcome.Succeeded("The **billing** tests fail because of the currency.");
        };

        await _bed.PostEventAsync(SlackPayloads.AppMention(channel, ts, "why?"));

        await FakeSlackServer.WaitUntilAsync(() => _bed.ScalarAsync("SELECT count(*) FROM slack_replies WHERE state = 'delivered'").Result == 1, SlackTestBed.Timeout, "the answer is delivered");
        var reply = Assert.Single(_bed.Slack.Thread(channel, ts), m => m.BotId is not null);
        Assert.Equal("The **billing** tests fail because of the currency.", reply.Text);
        Assert.False(reply.Streaming);
        var start = Assert.Single(_bed.Slack.CallsTo("chat.startStream"));
        Assert.Equal("UALICE", (string?)start.Args["recipient_user_id"]);
        Assert.Equal(FakeSlackServer.TeamId, (string?)start.Args["recipient_team_id"]);
        Assert.Equal(ts, (string?)start.Args["thread_ts"]);
        Assert.NotEmpty(_bed.Slack.CallsTo("chat.appendStream"));
        Assert.Single(_bed.Slack.CallsTo("chat.stopStream"));
        // The only post is the Stop controls beside the stream, deleted once the answer was complete.
        var controls = Assert.Single(_bed.Slack.CallsTo("chat.postMessage"));
        Assert.Equal("controls", (string?)controls.Args["metadata"]?["event_payload"]?["notice"]);
        Assert.Single(_bed.Slack.CallsTo("chat.delete"));
        Assert.Empty(_bed.Slack.CallsTo("chat.update"));
    }

    [Fact]
    public async Task AStreamedAnswerHasAStopButtonBesideItThatCancelsAndGoesAwayWithTheTurn()
    {
        var channel = SlackPayloads.NewChannel();
        var ts = SlackPayloads.NewTs();
        _bed.Api.Script = async turn =>
        {
            for (var i = 0; ; i++)
            {
                turn.Delta($"step {i}. ");
                await Task.Delay(100, turn.Cancelled);
            }
        };

        await _bed.PostEventAsync(SlackPayloads.AppMention(channel, ts, "run the tests"));
        var live = await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Count == 2 && r.Any(m => m.HasButton(ReplyPoster.StopAction)) && r.Any(m => m.Streaming), "the stream and its Stop button");
        var controls = live.Single(m => m.HasButton(ReplyPoster.StopAction));
        var stream = live.Single(m => m.Streaming);
        Assert.Equal(ts, controls.ThreadTs);
        Assert.False(controls.Streaming);
        var executionId = _bed.Api.Executions.Single().Id;

        using var click = await _bed.SendAsync(SignedSlackRequest.Interactivity(SlackPayloads.StopClick(channel, controls.Ts, executionId)));

        Assert.True(click.IsSuccessStatusCode);
        var final = (await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Count == 1 && !r[0].Streaming, "the stopped answer, without its controls")).Single();
        Assert.Equal(stream.Ts, final.Ts);
        Assert.StartsWith("step 0. ", final.Text, StringComparison.Ordinal);
        Assert.EndsWith("_Stopped._", final.Text, StringComparison.Ordinal);
        Assert.Equal([executionId], _bed.Api.Cancels);
        Assert.Equal(controls.Ts, (string?)Assert.Single(_bed.Slack.CallsTo("chat.delete")).Args["ts"]);
        Assert.Single(_bed.Slack.CallsTo("chat.postMessage"));
        Assert.Single(_bed.Slack.CallsTo("chat.startStream"));
    }

    [Fact]
    public async Task ALongStreamMovesToANewMessageBeforeSlacksLimit()
    {
        var channel = SlackPayloads.NewChannel();
        var ts = SlackPayloads.NewTs();
        var paragraphs = Enumerable.Range(0, 30).Select(i => $"Paragraph {i}: " + new string('x', 80)).ToList();
        _bed.Api.Script = async turn =>
        {
            foreach (var paragraph in paragraphs)
            {
                turn.Delta(paragraph + "\n\n");
                await Task.Delay(20, turn.Cancelled);
            }

            return FakeOutcome.Succeeded(string.Concat(paragraphs.Select(p => p + "\n\n")));
        };

        await _bed.PostEventAsync(SlackPayloads.AppMention(channel, ts, "long"));

        await FakeSlackServer.WaitUntilAsync(() => _bed.ScalarAsync("SELECT count(*) FROM slack_replies WHERE state = 'delivered'").Result == 1, SlackTestBed.Timeout, "the answer is delivered");
        var replies = _bed.Slack.Thread(channel, ts).Where(m => m.BotId is not null).ToList();
        Assert.InRange(replies.Count, 3, 4);
        Assert.All(replies, r => Assert.InRange(r.Text.Length, 1, 1000));
        Assert.All(replies, r => Assert.False(r.Streaming));
        Assert.Equal(string.Concat(paragraphs.Select(p => p + "\n\n")), string.Concat(replies.Select(r => r.Text)));
        Assert.Equal(replies.Count, _bed.Slack.CallsTo("chat.startStream").Count);
        Assert.Equal(replies.Count, _bed.Slack.CallsTo("chat.stopStream").Count);
    }

    [Fact]
    public async Task AStoppedStreamEndsWithStoppedAndAFailedOneIsEditedIntoThePoliteError()
    {
        var channel = SlackPayloads.NewChannel();
        var ts = SlackPayloads.NewTs();
        _bed.Api.Script = async turn =>
        {
            turn.Delta("Partial thoughts");
            await Task.Delay(800, turn.Cancelled);
            if (turn.Texts.Contains("fail"))
            {
                throw new InvalidOperationException("boom");
            }

            await Task.Delay(TimeSpan.FromMinutes(2), turn.Cancelled);
            return FakeOutcome.Succeeded("never");
        };

        await _bed.PostEventAsync(SlackPayloads.AppMention(channel, ts, "wait"));
        await FakeSlackServer.WaitUntilAsync(() => _bed.Slack.CallsTo("chat.startStream").Count == 1, SlackTestBed.Timeout, "the stream starts");
        await _bed.PostEventAsync(SlackPayloads.AppMention(channel, SlackPayloads.NewTs(), "stop", threadTs: ts));
        var second = SlackPayloads.NewChannel();
        var secondTs = SlackPayloads.NewTs();
        await _bed.PostEventAsync(SlackPayloads.AppMention(second, secondTs, "fail"));

        await FakeSlackServer.WaitUntilAsync(() => _bed.ScalarAsync("SELECT count(*) FROM slack_replies WHERE state = 'delivered'").Result == 2, SlackTestBed.Timeout, "both are delivered");
        Assert.Equal("Partial thoughts\n\n_Stopped._", Assert.Single(_bed.Slack.Thread(channel, ts), m => m.BotId is not null).Text);
        var failed = Assert.Single(_bed.Slack.Thread(second, secondTs), m => m.BotId is not null);
        Assert.StartsWith("Sorry, I couldn't finish this one.", failed.Text, StringComparison.Ordinal);
        Assert.False(failed.Streaming);
    }

    [Fact]
    public async Task WithoutStreamingMethodsTheAdapterFallsBackToEditsOnce()
    {
        _bed.Slack.StreamingSupported = false;
        _bed.Api.Script = async turn =>
        {
            turn.Delta("Hello from ");
            await Task.Delay(600, turn.Cancelled);
            return FakeOutcome.Succeeded("Hello from the fake agent.");
        };
        var first = SlackPayloads.NewChannel();
        var second = SlackPayloads.NewChannel();
        var ts1 = SlackPayloads.NewTs();
        var ts2 = SlackPayloads.NewTs();

        await _bed.PostEventAsync(SlackPayloads.AppMention(first, ts1, "one"));
        await _bed.WaitForBotRepliesAsync(first, ts1, r => r.Count == 1 && r[0].Text == "Hello from the fake agent.", "the first answer");
        await _bed.PostEventAsync(SlackPayloads.AppMention(second, ts2, "two"));
        await _bed.WaitForBotRepliesAsync(second, ts2, r => r.Count == 1 && r[0].Text == "Hello from the fake agent.", "the second answer");

        Assert.Single(_bed.Slack.CallsTo("chat.startStream"));
        Assert.Equal(2, _bed.Slack.CallsTo("chat.postMessage").Count);
    }
}
