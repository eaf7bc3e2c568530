using System.Text;
using System.Text.Json.Nodes;
using Centaur.Slack.Replies;
using Centaur.Tests.Fakes.FakeCentaurApi;
using Centaur.Tests.Fakes.FakeSlack;
using Centaur.Tests.Infrastructure;

namespace Centaur.Tests.Slack;

/// <summary>Events → turns on the control plane → answers rendered into the right Slack thread.</summary>
[Collection(AppCollection.Name)]
public sealed class SlackTurnTests(CentaurAppFixture fixture) : IAsyncLifetime
{
    private SlackTestBed _bed = null!;

    public async ValueTask InitializeAsync() => _bed = await SlackTestBed.StartAsync(fixture);

    public ValueTask DisposeAsync() => _bed.DisposeAsync();

    [Fact]
    public async Task AnAppMentionMakesOneTurnAndAReplyInItsThread()
    {
        var channel = SlackPayloads.NewChannel();
        var ts = SlackPayloads.NewTs();

        await _bed.PostEventAsync(SlackPayloads.AppMention(channel, ts, "why are the billing tests failing?"));

        var replies = await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Count == 1 && !r[0].HasButton(ReplyPoster.StopAction), "the answer is delivered");
        var reply = replies.Single();
        Assert.Equal(ts, reply.ThreadTs);
        Assert.Equal("Hello from the fake agent.", reply.Text);
        Assert.Equal($"slack:{channel}:{ts}", Assert.Single(_bed.Api.Spawns));
        var message = Assert.Single(_bed.Api.Messages);
        Assert.Equal("why are the billing tests failing?", message.Text);
        Assert.Equal($"slack:{channel}:{ts}", message.ClientMessageId);
        Assert.Equal("slack:UALICE", message.Author);
        var execution = Assert.Single(_bed.Api.Executions);
        Assert.Equal($"slack:{channel}:{ts}", execution.IdempotencyKey);
        await FakeSlackServer.WaitUntilAsync(() => _bed.Api.Deliveries.SingleOrDefault()?.ExternalRef is not null, SlackTestBed.Timeout, "the delivery is acknowledged");
        var delivery = _bed.Api.Deliveries.Single();
        Assert.Equal($"{channel}:{reply.Ts}", delivery.ExternalRef);
        Assert.Equal(1, delivery.Acks);
        Assert.Single(_bed.Slack.CallsTo("reactions.add"), c => (string?)c.Args["timestamp"] == ts);
        Assert.False(_bed.Slack.HasReaction(channel, ts, "hourglass_flowing_sand"));
    }

    [Fact]
    public async Task AMentionInsideAThreadAnswersInThatThreadWithTheConversationAsContext()
    {
        var channel = SlackPayloads.NewChannel();
        var parent = _bed.Slack.AddHumanMessage(channel, null, "UBOB", "the deploy is red again");
        _bed.Slack.AddHumanMessage(channel, parent, "UCAROL", "it's the billing migration");
        var ts = SlackPayloads.NewTs();

        await _bed.PostEventAsync(SlackPayloads.AppMention(channel, ts, "can you check?", threadTs: parent));

        await _bed.WaitForBotRepliesAsync(channel, parent, r => r.Count == 1 && !r[0].HasButton(ReplyPoster.StopAction), "the answer is in the parent's thread");
        Assert.Equal($"slack:{channel}:{parent}", Assert.Single(_bed.Api.Spawns));
        var text = Assert.Single(_bed.Api.Messages).Text;
        Assert.Contains("<@UBOB>: the deploy is red again", text, StringComparison.Ordinal);
        Assert.Contains("<@UCAROL>: it's the billing migration", text, StringComparison.Ordinal);
        Assert.EndsWith("can you check?", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OneMessageSeenAsAppMentionAndAsMessageMakesOneTurn()
    {
        var channel = SlackPayloads.NewChannel();
        var ts = SlackPayloads.NewTs();

        await _bed.PostEventAsync(SlackPayloads.AppMention(channel, ts, "hello"));
        await _bed.PostEventAsync(SlackPayloads.Message(channel, ts, "<@UCENTAUR> hello"));

        await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Count == 1 && !r[0].HasButton(ReplyPoster.StopAction), "the answer is delivered");
        await FakeSlackServer.WaitUntilAsync(() => _bed.ScalarAsync("SELECT count(*) FROM slack_inbox WHERE processed_at IS NOT NULL").Result == 2, SlackTestBed.Timeout, "both deliveries are processed");
        Assert.Single(_bed.Api.Executions);
        Assert.Single(_bed.Slack.Thread(channel, ts), m => m.BotId is not null);
    }

    [Fact]
    public async Task ADirectMessageDeliveredUnderTwoEventIdsMakesOneTurn()
    {
        var channel = "D" + SlackPayloads.NewChannel()[1..];
        var ts = SlackPayloads.NewTs();

        await _bed.PostEventAsync(SlackPayloads.Message(channel, ts, "hi there", channelType: "im"));
        await _bed.PostEventAsync(SlackPayloads.Message(channel, ts, "hi there", channelType: "im"));

        await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Count == 1 && !r[0].HasButton(ReplyPoster.StopAction), "the answer is delivered");
        await FakeSlackServer.WaitUntilAsync(() => _bed.ScalarAsync("SELECT count(*) FROM slack_inbox WHERE processed_at IS NOT NULL").Result == 2, SlackTestBed.Timeout, "both deliveries are processed");
        await Task.Delay(500, TestContext.Current.CancellationToken);
        Assert.Single(_bed.Api.Executions);
        Assert.Single(_bed.Api.Messages);
        Assert.Single(_bed.Slack.Thread(channel, ts), m => m.BotId is not null);
    }

    [Fact]
    public async Task BotsOurselvesAndSystemMessagesStartNoTurn()
    {
        var dm = "D" + SlackPayloads.NewChannel()[1..];
        var otherApp = SlackPayloads.Message(dm, SlackPayloads.NewTs(), "Hi there! Thanks for sharing the info!", "UB111", "im");
        otherApp["bot_id"] = "B999";
        var classic = SlackPayloads.Message(dm, SlackPayloads.NewTs(), "classic", "UB222", "im");
        classic.Remove("user");
        classic["subtype"] = "bot_message";
        classic["bot_id"] = "B888";
        var ourselves = SlackPayloads.Message(dm, SlackPayloads.NewTs(), "our own message", FakeSlackServer.BotUserId, "im");
        var deleted = SlackPayloads.Message(dm, SlackPayloads.NewTs(), "", "UALICE", "im");
        deleted["subtype"] = "message_deleted";
        deleted["hidden"] = true;
        var channelChatter = SlackPayloads.Message(SlackPayloads.NewChannel(), SlackPayloads.NewTs(), "people talking");

        foreach (var slackEvent in new[] { otherApp, classic, ourselves, deleted, channelChatter })
        {
            await _bed.PostEventAsync(slackEvent);
        }

        await FakeSlackServer.WaitUntilAsync(() => _bed.ScalarAsync("SELECT count(*) FROM slack_inbox WHERE processed_at IS NOT NULL").Result == 5, SlackTestBed.Timeout, "every delivery is processed");
        Assert.Empty(_bed.Api.Spawns);
        Assert.Empty(_bed.Api.Messages);
        Assert.Empty(_bed.Slack.CallsTo("chat.postMessage"));
        Assert.Equal(5, await _bed.ScalarAsync("SELECT count(*) FROM slack_inbox WHERE outcome LIKE 'ignored:%'"));
    }

    [Fact]
    public async Task TheAnswerStreamsIntoOneMessageWithAStopButtonThatCancels()
    {
        var channel = SlackPayloads.NewChannel();
        var ts = SlackPayloads.NewTs();
        _bed.Api.Script = async turn =>
        {
            turn.ToolUse("bash", new JsonObject { ["command"] = "dotnet test billing" });
            for (var i = 0; ; i++)
            {
                turn.Delta($"step {i}. ");
                await Task.Delay(100, turn.Cancelled);
            }
        };

        await _bed.PostEventAsync(SlackPayloads.AppMention(channel, ts, "run the tests"));
        var live = (await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Count == 1 && r[0].HasButton(ReplyPoster.StopAction) && r[0].Edits >= 2, "the answer streams")).Single();
        var executionId = _bed.Api.Executions.Single().Id;
        Assert.Contains("step 0.", live.Shown, StringComparison.Ordinal);
        Assert.Contains(live.Blocks!.OfType<JsonObject>(), b => (string?)b["type"] == "context" && ((string?)b["elements"]![0]!["text"])!.Contains("`bash` dotnet test billing", StringComparison.Ordinal));

        using var click = await _bed.SendAsync(SignedSlackRequest.Interactivity(SlackPayloads.StopClick(channel, live.Ts, executionId)));

        Assert.True(click.IsSuccessStatusCode);
        var final = (await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Count == 1 && !r[0].HasButton(ReplyPoster.StopAction), "the stopped answer is final")).Single();
        Assert.Equal(live.Ts, final.Ts);
        Assert.EndsWith("_Stopped._", final.Text, StringComparison.Ordinal);
        Assert.StartsWith("step 0.", final.Text, StringComparison.Ordinal);
        Assert.Equal([executionId], _bed.Api.Cancels);
        Assert.Equal("cancelled", _bed.Api.Executions.Single().State);
        Assert.Single(_bed.Slack.CallsTo("chat.postMessage"));
    }

    [Fact]
    public async Task AMentionThatSaysStopCancelsTheRunningTurn()
    {
        var channel = SlackPayloads.NewChannel();
        var ts = SlackPayloads.NewTs();
        _bed.Api.Script = async turn =>
        {
            turn.Delta("working on it");
            await Task.Delay(TimeSpan.FromMinutes(2), turn.Cancelled);
            return FakeOutcome.Succeeded("never");
        };

        await _bed.PostEventAsync(SlackPayloads.AppMention(channel, ts, "do the thing"));
        await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Count == 1, "the answer started");
        await _bed.PostEventAsync(SlackPayloads.AppMention(channel, SlackPayloads.NewTs(), "stop", threadTs: ts));

        var final = (await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Count == 1 && r[0].Text.EndsWith("_Stopped._", StringComparison.Ordinal), "the turn is stopped")).Single();
        Assert.Equal("working on it\n\n_Stopped._", final.Text);
        Assert.Single(_bed.Api.Executions);
        Assert.Single(_bed.Api.Cancels);
    }

    [Fact]
    public async Task ASixtyThousandCharacterAnswerArrivesSplitAndComplete()
    {
        var channel = SlackPayloads.NewChannel();
        var ts = SlackPayloads.NewTs();
        var answer = new StringBuilder();
        for (var i = 0; answer.Length < 60_000; i++)
        {
            answer.Append($"Paragraph {i} says **something** about billing. ").Append(string.Concat(Enumerable.Repeat("More detail here. ", 8))).Append("\n\n");
        }

        _bed.Api.Script = _ => Task.FromResult(FakeOutcome.Succeeded(answer.ToString()));

        await _bed.PostEventAsync(SlackPayloads.AppMention(channel, ts, "explain everything"));

        await FakeSlackServer.WaitUntilAsync(() => _bed.Api.Deliveries.SingleOrDefault()?.ExternalRef is not null, TimeSpan.FromSeconds(60), "the long answer is delivered");
        var replies = _bed.Slack.Thread(channel, ts).Where(m => m.BotId is not null).ToList();
        Assert.InRange(replies.Count, 16, 20);
        Assert.All(replies, r => Assert.InRange(r.Text.Length, 1, 4000));
        Assert.All(replies, r => Assert.False(r.HasButton(ReplyPoster.StopAction)));
        var all = string.Join("\n\n", replies.Select(r => r.Text));
        var paragraphs = all.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(answer.ToString().Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Length, paragraphs.Length);
        Assert.All(paragraphs.Select((p, i) => (p, i)), x => Assert.StartsWith($"Paragraph {x.i} says *something*", x.p, StringComparison.Ordinal));
    }

    [Fact]
    public async Task RateLimitedEditsWaitForRetryAfterAndTheAnswerStillCompletes()
    {
        var channel = SlackPayloads.NewChannel();
        var ts = SlackPayloads.NewTs();
        var release = new TaskCompletionSource();
        _bed.Api.Script = async turn =>
        {
            turn.Delta("first words");
            await release.Task.WaitAsync(turn.Cancelled);
            turn.Delta(" and more");
            return FakeOutcome.Succeeded("first words and more, final.");
        };

        await _bed.PostEventAsync(SlackPayloads.AppMention(channel, ts, "go"));
        await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Count == 1, "the first words are posted");
        _bed.Slack.Fail("chat.update", FakeFault.RateLimited(retryAfterSeconds: 2));
        release.SetResult();

        var final = (await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Count == 1 && !r[0].HasButton(ReplyPoster.StopAction), "the final answer")).Single();
        Assert.Equal("first words and more, final.", final.Text);
        var updates = _bed.Slack.CallsTo("chat.update");
        var limited = updates[0];
        Assert.All(updates.Skip(1), u => Assert.True(u.At - limited.At >= TimeSpan.FromSeconds(1.9), $"an edit came {u.At - limited.At} after the 429"));
    }

    [Fact]
    public async Task MarkdownTablesAndFormattingArriveAsMrkdwn()
    {
        var channel = SlackPayloads.NewChannel();
        var ts = SlackPayloads.NewTs();
        _bed.Api.Script = _ => Task.FromResult(FakeOutcome.Succeeded("## Result\n\n| test | status |\n|---|---|\n| billing | **failed** |\n\nSee [the run](https://ci.example.com/1) & fix `a<b`."));

        await _bed.PostEventAsync(SlackPayloads.AppMention(channel, ts, "status?"));

        var final = (await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Count == 1 && !r[0].HasButton(ReplyPoster.StopAction), "the answer")).Single();
        Assert.Equal("*Result*\n\n```\ntest    | status\n--------+-------\nbilling | failed\n```\n\nSee <https://ci.example.com/1|the run> &amp; fix `a&lt;b`.", final.Text);
    }

    [Fact]
    public async Task AFailedTurnShowsAPoliteMessageWithAReferenceAndNoDetails()
    {
        var channel = SlackPayloads.NewChannel();
        var ts = SlackPayloads.NewTs();
        _bed.Api.Script = _ => throw new InvalidOperationException("secret internal stack detail");

        await _bed.PostEventAsync(SlackPayloads.AppMention(channel, ts, "break"));

        var final = (await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Count == 1, "the error reply")).Single();
        var executionId = _bed.Api.Executions.Single().Id;
        Assert.Equal($"Sorry, I couldn't finish this one. If you ask for help, mention the reference `E{executionId}`.", final.Text);
        Assert.DoesNotContain("secret", final.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMentionDuringARunIsFoldedIntoTheNextTurn()
    {
        var channel = SlackPayloads.NewChannel();
        var ts = SlackPayloads.NewTs();
        var release = new TaskCompletionSource();
        _bed.Api.Script = async turn =>
        {
            if (turn.Texts.Contains("first"))
            {
                await release.Task.WaitAsync(turn.Cancelled);
            }

            return FakeOutcome.Succeeded("answer to " + string.Join(" + ", turn.Texts));
        };

        await _bed.PostEventAsync(SlackPayloads.AppMention(channel, ts, "first"));
        await FakeSlackServer.WaitUntilAsync(() => _bed.Api.Executions.Count == 1, SlackTestBed.Timeout, "the first turn runs");
        await _bed.PostEventAsync(SlackPayloads.AppMention(channel, SlackPayloads.NewTs(), "second", threadTs: ts));
        await FakeSlackServer.WaitUntilAsync(() => _bed.ScalarAsync("SELECT count(*) FROM slack_inbox WHERE outcome = 'folded'").Result == 1, SlackTestBed.Timeout, "the second mention is folded");
        release.SetResult();

        var replies = await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Count == 2 && r.All(m => !m.HasButton(ReplyPoster.StopAction)), "both answers");
        Assert.Equal(["answer to first", "answer to second"], replies.Select(r => r.Text));
        Assert.Equal(2, _bed.Api.Executions.Count);
    }

    [Fact]
    public async Task APartPostedJustBeforeACrashIsFoundByItsMetadataNotPostedAgain()
    {
        var channel = SlackPayloads.NewChannel();
        var ts = SlackPayloads.NewTs();
        await _bed.PostEventAsync(SlackPayloads.AppMention(channel, ts, "hello"));
        var reply = (await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Count == 1 && !r[0].HasButton(ReplyPoster.StopAction), "the answer")).Single();
        var executionId = _bed.Api.Executions.Single().Id;
        await FakeSlackServer.WaitUntilAsync(() => _bed.ScalarAsync("SELECT count(*) FROM slack_replies WHERE state = 'delivered'").Result == 1, SlackTestBed.Timeout, "the reply is recorded");

        // As if the process died after chat.postMessage and before storing its ts.
        await _bed.ScalarAsync("UPDATE slack_reply_parts SET ts = NULL WHERE execution_id = @id", ("id", executionId));
        await _bed.ScalarAsync("UPDATE slack_replies SET state = 'finishing' WHERE execution_id = @id", ("id", executionId));
        await _bed.Adapter.Service<ReplyFinalizer>().FinalizeAsync(executionId, $"slack:{channel}:{ts}", new TerminalInfo("succeeded", "Hello again.", null, null), TestContext.Current.CancellationToken);

        var after = _bed.Slack.Thread(channel, ts).Where(m => m.BotId is not null).ToList();
        Assert.Equal(reply.Ts, Assert.Single(after).Ts);
        Assert.Equal("Hello again.", after[0].Text);
        Assert.NotEmpty(_bed.Slack.CallsTo("conversations.replies"));
    }

    [Fact]
    public async Task AnInterruptedTurnListsItsEffectsAndResumeContinuesIt()
    {
        var channel = SlackPayloads.NewChannel();
        var ts = SlackPayloads.NewTs();
        _bed.Api.Script = turn => Task.FromResult(turn.Texts.Count > 0
            ? new FakeOutcome("interrupted", null, null, new JsonArray(new JsonObject { ["method"] = "POST", ["target"] = "api.github.com/repos/acme/billing/pulls" }))
            : FakeOutcome.Succeeded("Resumed: the pull request exists, continuing."));

        await _bed.PostEventAsync(SlackPayloads.AppMention(channel, ts, "open a PR"));
        var interrupted = (await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Count == 1 && r[0].HasButton(ReplyPoster.ResumeAction), "the interrupted notice")).Single();
        Assert.Contains("POST api.github.com/repos/acme/billing/pulls", interrupted.Shown, StringComparison.Ordinal);
        var executionId = _bed.Api.Executions.Single().Id;

        var click = SlackPayloads.StopClick(channel, interrupted.Ts, executionId);
        click["actions"]![0]!["action_id"] = ReplyPoster.ResumeAction;
        using var response = await _bed.SendAsync(SignedSlackRequest.Interactivity(click));

        Assert.True(response.IsSuccessStatusCode);
        var replies = await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Count == 2 && r[1].Text.StartsWith("Resumed", StringComparison.Ordinal), "the resumed answer");
        Assert.Equal($"resume:{executionId}", _bed.Api.Executions[1].IdempotencyKey);
        Assert.Equal("Resumed: the pull request exists, continuing.", replies[1].Text);
    }

    [Fact]
    public async Task ASlashCommandOpensAThreadAndAnswersInIt()
    {
        var channel = SlackPayloads.NewChannel();
        var form = $"token=x&team_id=T0001&channel_id={channel}&user_id=UALICE&command=%2Fcentaur&text=why+are+the+tests+red%3F&api_app_id=A0001&trigger_id={Guid.NewGuid():N}";

        using var response = await _bed.SendAsync(SignedSlackRequest.Build("/slack/commands", form, "application/x-www-form-urlencoded"));

        Assert.True(response.IsSuccessStatusCode);
        await FakeSlackServer.WaitUntilAsync(() => _bed.Slack.BotMessages(channel).Count == 2 && !_bed.Slack.BotMessages(channel)[1].HasButton(ReplyPoster.StopAction), SlackTestBed.Timeout, "the question and its answer");
        var (question, answer) = (_bed.Slack.BotMessages(channel)[0], _bed.Slack.BotMessages(channel)[1]);
        Assert.Equal("<@UALICE> asked: why are the tests red?", question.Text);
        Assert.Equal(question.Ts, answer.ThreadTs);
        Assert.Equal($"slack:{channel}:{question.Ts}", Assert.Single(_bed.Api.Spawns));
        Assert.Equal("why are the tests red?", Assert.Single(_bed.Api.Messages).Text);
    }
}
