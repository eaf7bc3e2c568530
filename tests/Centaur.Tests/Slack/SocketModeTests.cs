using System.Text.Json.Nodes;
using Centaur.Slack.Replies;
using Centaur.Tests.Fakes.FakeSlack;
using Centaur.Tests.Infrastructure;

namespace Centaur.Tests.Slack;

/// <summary>Socket Mode against the fake Slack's WebSocket server: two connections, acks, dedupe, reconnects.</summary>
[Collection(AppCollection.Name)]
public sealed class SocketModeTests(CentaurAppFixture fixture) : IAsyncLifetime
{
    private SlackTestBed _bed = null!;

    public async ValueTask InitializeAsync() =>
        _bed = await SlackTestBed.StartAsync(fixture, new() { ["Slack:AppToken"] = "xapp-1-test", ["Slack:SigningSecret"] = "" });

    public ValueTask DisposeAsync() => _bed.DisposeAsync();

    [Fact]
    public async Task TwoConnectionsOpenAndAnEnvelopeIsAckedOnItsSocketAndAnswered()
    {
        await FakeSlackServer.WaitUntilAsync(() => _bed.Slack.Sockets.Count == 2, SlackTestBed.Timeout, "two sockets are open");
        var channel = SlackPayloads.NewChannel();
        var ts = SlackPayloads.NewTs();
        var payload = SlackPayloads.Callback(SlackPayloads.AppMention(channel, ts, "over the socket"));

        await _bed.Slack.Sockets[1].SendEnvelopeAsync("env-1", "events_api", payload);

        await FakeSlackServer.WaitUntilAsync(() => _bed.Slack.Sockets[1].Acks.Contains("env-1"), SlackTestBed.Timeout, "the envelope is acked");
        Assert.DoesNotContain("env-1", _bed.Slack.Sockets[0].Acks);
        var reply = (await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Count == 1 && !r[0].HasButton(ReplyPoster.StopAction), "the answer")).Single();
        Assert.Equal("Hello from the fake agent.", reply.Text);
        Assert.All(_bed.Slack.CallsTo("apps.connections.open"), c => Assert.Equal("xapp-1-test", c.Token));
        Assert.Equal(1, await _bed.ScalarAsync("SELECT count(*) FROM slack_inbox WHERE transport = 'socket'"));
    }

    [Fact]
    public async Task TheSameEventOnBothSocketsIsAckedTwiceButMakesOneTurn()
    {
        await FakeSlackServer.WaitUntilAsync(() => _bed.Slack.Sockets.Count == 2, SlackTestBed.Timeout, "two sockets are open");
        var channel = SlackPayloads.NewChannel();
        var ts = SlackPayloads.NewTs();
        var payload = SlackPayloads.Callback(SlackPayloads.AppMention(channel, ts, "twice"));

        await _bed.Slack.Sockets[0].SendEnvelopeAsync("env-a", "events_api", payload);
        await _bed.Slack.Sockets[1].SendEnvelopeAsync("env-b", "events_api", payload, retryAttempt: 1);

        await FakeSlackServer.WaitUntilAsync(() => _bed.Slack.Sockets[0].Acks.Contains("env-a") && _bed.Slack.Sockets[1].Acks.Contains("env-b"), SlackTestBed.Timeout, "both envelopes are acked");
        await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Count == 1 && !r[0].HasButton(ReplyPoster.StopAction), "the answer");
        await Task.Delay(500, TestContext.Current.CancellationToken);
        Assert.Single(_bed.Api.Executions);
        Assert.Single(_bed.Slack.Thread(channel, ts), m => m.BotId is not null);
    }

    [Fact]
    public async Task ADisconnectEnvelopeOpensANewConnectionThatKeepsWorking()
    {
        await FakeSlackServer.WaitUntilAsync(() => _bed.Slack.Sockets.Count == 2, SlackTestBed.Timeout, "two sockets are open");
        var old = _bed.Slack.Sockets[0];

        await old.SendDisconnectAsync("refresh_requested");

        await FakeSlackServer.WaitUntilAsync(() => _bed.Slack.Sockets.Count == 3 && _bed.Slack.CallsTo("apps.connections.open").Count == 3, SlackTestBed.Timeout, "a third connection is opened");
        await old.Closed.WaitAsync(SlackTestBed.Timeout, TestContext.Current.CancellationToken);
        var channel = SlackPayloads.NewChannel();
        var ts = SlackPayloads.NewTs();
        await _bed.Slack.Sockets[2].SendEnvelopeAsync("env-new", "events_api", SlackPayloads.Callback(SlackPayloads.AppMention(channel, ts, "after the refresh")));
        await FakeSlackServer.WaitUntilAsync(() => _bed.Slack.Sockets[2].Acks.Contains("env-new"), SlackTestBed.Timeout, "the new socket acks");
        await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Count == 1 && !r[0].HasButton(ReplyPoster.StopAction), "the answer");
    }

    [Fact]
    public async Task ADroppedConnectionIsReplacedAndLinkDisabledIsNotHotLooped()
    {
        await FakeSlackServer.WaitUntilAsync(() => _bed.Slack.Sockets.Count == 2, SlackTestBed.Timeout, "two sockets are open");

        _bed.Slack.Sockets[0].Abort();
        await FakeSlackServer.WaitUntilAsync(() => _bed.Slack.Sockets.Count == 3, SlackTestBed.Timeout, "the dropped socket is replaced");
        await _bed.Slack.Sockets[1].SendDisconnectAsync("link_disabled");
        await Task.Delay(TimeSpan.FromSeconds(3), TestContext.Current.CancellationToken);

        Assert.Equal(3, _bed.Slack.CallsTo("apps.connections.open").Count);
    }

    [Fact]
    public async Task AStopButtonClickOverTheSocketCancels()
    {
        await FakeSlackServer.WaitUntilAsync(() => _bed.Slack.Sockets.Count == 2, SlackTestBed.Timeout, "two sockets are open");
        var channel = SlackPayloads.NewChannel();
        var ts = SlackPayloads.NewTs();
        _bed.Api.Script = async turn =>
        {
            turn.Delta("thinking");
            await Task.Delay(TimeSpan.FromMinutes(2), turn.Cancelled);
            return Fakes.FakeCentaurApi.FakeOutcome.Succeeded("never");
        };
        await _bed.Slack.Sockets[0].SendEnvelopeAsync("env-m", "events_api", SlackPayloads.Callback(SlackPayloads.AppMention(channel, ts, "think")));
        var live = (await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Count == 1 && r[0].HasButton(ReplyPoster.StopAction), "the live answer")).Single();

        await _bed.Slack.Sockets[1].SendEnvelopeAsync("env-click", "interactive", SlackPayloads.StopClick(channel, live.Ts, _bed.Api.Executions.Single().Id));

        await FakeSlackServer.WaitUntilAsync(() => _bed.Slack.Sockets[1].Acks.Contains("env-click"), SlackTestBed.Timeout, "the click is acked");
        var final = (await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Count == 1 && !r[0].HasButton(ReplyPoster.StopAction), "the stopped answer")).Single();
        Assert.Equal("thinking\n\n_Stopped._", final.Text);
        Assert.Single(_bed.Api.Cancels);
        Assert.IsType<JsonObject>(_bed.Slack.CallsTo("chat.update").Last().Args);
    }
}
