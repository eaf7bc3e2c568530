using Centaur.Slack.Replies;
using Centaur.Tests.Fakes.FakeCentaurApi;
using Centaur.Tests.Fakes.FakeSlack;
using Centaur.Tests.Infrastructure;

namespace Centaur.Tests.Slack;

/// <summary>
/// A host the proxy refused during a turn (the egress_blocked event) is shown once in the thread with an "Allow
/// &lt;host&gt; for this thread" button; an egress admin's click reaches the API, anyone else is refused ephemerally.
/// </summary>
[Collection(AppCollection.Name)]
public sealed class SlackEgressAllowTests(CentaurAppFixture fixture) : IAsyncLifetime
{
    private SlackTestBed _bed = null!;

    public async ValueTask InitializeAsync() => _bed = await StartBedAsync();

    public ValueTask DisposeAsync() => _bed.DisposeAsync();

    private Task<SlackTestBed> StartBedAsync(Dictionary<string, string?>? overrides = null) => SlackTestBed.StartAsync(fixture, overrides);

    [Fact]
    public async Task ABlockedHostIsShownOnceWithAnAllowButtonThatAnAdminsClickSendsToTheApi()
    {
        var (channel, ts) = await StartTurnBlockedOnAsync("pypi.org");
        _bed.Slack.WorkspaceAdmins.Add("UADMIN");
        var notice = await WaitForNoticeAsync(channel, ts);
        Assert.Contains("`pypi.org`", notice.Shown, StringComparison.Ordinal);
        Assert.Equal("Allow pypi.org for this thread", ButtonLabel(notice));

        using var click = await _bed.SendAsync(SignedSlackRequest.Interactivity(SlackPayloads.ButtonClick(notice, ThreadNotices.AllowEgressAction, "UADMIN")));

        Assert.True(click.IsSuccessStatusCode);
        await FakeSlackServer.WaitUntilAsync(() => _bed.Api.ThreadAllowances.Count == 1, SlackTestBed.Timeout, "the allowance reaches the API");
        Assert.Equal(new FakeThreadAllowance($"slack:{channel}:{ts}", "pypi.org", "slack:UADMIN"), _bed.Api.ThreadAllowances.Single());
        var answered = await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Any(m => m.Ts == notice.Ts && !m.HasButton(ThreadNotices.AllowEgressAction)), "the notice says it is allowed");
        Assert.Equal(":white_check_mark: <@UADMIN> allowed `pypi.org` for this thread; the sandbox can reach it from its next request.",
            answered.Single(m => m.Ts == notice.Ts).Text);
        Assert.Contains(_bed.Slack.CallsTo("users.info"), c => (string?)c.Args["user"] == "UADMIN");
        Assert.Empty(_bed.Slack.CallsTo("chat.postEphemeral"));
        Assert.Equal(1, await _bed.ScalarAsync("SELECT count(*) FROM slack_inbox WHERE outcome = 'egress_allowed'"));
    }

    [Fact]
    public async Task SomeoneWhoIsNotAnAdminIsRefusedEphemerallyAndNothingIsAllowed()
    {
        var (channel, ts) = await StartTurnBlockedOnAsync("registry.npmjs.org");
        var notice = await WaitForNoticeAsync(channel, ts);

        using var click = await _bed.SendAsync(SignedSlackRequest.Interactivity(SlackPayloads.ButtonClick(notice, ThreadNotices.AllowEgressAction, "UBOB")));

        Assert.True(click.IsSuccessStatusCode);
        await FakeSlackServer.WaitUntilAsync(() => _bed.Slack.CallsTo("chat.postEphemeral").Count == 1, SlackTestBed.Timeout, "the refusal");
        var refusal = _bed.Slack.CallsTo("chat.postEphemeral").Single();
        Assert.Equal("UBOB", (string?)refusal.Args["user"]);
        Assert.Equal(ts, (string?)refusal.Args["thread_ts"]);
        Assert.Equal("Sorry, only a workspace admin or owner can allow `registry.npmjs.org` for this thread.", (string?)refusal.Args["text"]);
        Assert.Empty(_bed.Api.ThreadAllowances);
        Assert.True(_bed.Slack.Thread(channel, ts).Single(m => m.Ts == notice.Ts).HasButton(ThreadNotices.AllowEgressAction));
        Assert.Equal(1, await _bed.ScalarAsync("SELECT count(*) FROM slack_inbox WHERE outcome = 'refused:not_egress_admin'"));
    }

    [Fact]
    public async Task WithEgressAdminsConfiguredOnlyThoseUsersMayAllowEvenOverAWorkspaceAdmin()
    {
        await _bed.DisposeAsync();
        _bed = await StartBedAsync(new() { ["Slack:EgressAdmins:0"] = "UCAROL" });
        var (channel, ts) = await StartTurnBlockedOnAsync("files.pythonhosted.org");
        _bed.Slack.WorkspaceAdmins.Add("UADMIN");
        var notice = await WaitForNoticeAsync(channel, ts);

        using (await _bed.SendAsync(SignedSlackRequest.Interactivity(SlackPayloads.ButtonClick(notice, ThreadNotices.AllowEgressAction, "UADMIN"))))
        {
        }

        await FakeSlackServer.WaitUntilAsync(() => _bed.Slack.CallsTo("chat.postEphemeral").Count == 1, SlackTestBed.Timeout, "the workspace admin is refused");
        using (await _bed.SendAsync(SignedSlackRequest.Interactivity(SlackPayloads.ButtonClick(notice, ThreadNotices.AllowEgressAction, "UCAROL"))))
        {
        }

        await FakeSlackServer.WaitUntilAsync(() => _bed.Api.ThreadAllowances.Count == 1, SlackTestBed.Timeout, "the configured egress admin allows it");
        Assert.Equal("slack:UCAROL", _bed.Api.ThreadAllowances.Single().GrantedBy);
        Assert.Contains("Centaur's egress admins", (string?)_bed.Slack.CallsTo("chat.postEphemeral").Single().Args["text"], StringComparison.Ordinal);
        Assert.Empty(_bed.Slack.CallsTo("users.info"));
    }

    /// <summary>A turn that hits the proxy's refusal twice for the same host and once for another, then answers.</summary>
    private async Task<(string Channel, string Ts)> StartTurnBlockedOnAsync(string host)
    {
        var channel = SlackPayloads.NewChannel();
        var ts = SlackPayloads.NewTs();
        var release = new TaskCompletionSource();
        _bed.Api.Script = async turn =>
        {
            turn.Delta("Installing the dependencies… ");
            turn.EgressBlocked(host);
            turn.EgressBlocked(host);
            await release.Task.WaitAsync(TimeSpan.FromSeconds(20), turn.Cancelled);
            return FakeOutcome.Succeeded($"I could not reach {host}.");
        };

        await _bed.PostEventAsync(SlackPayloads.AppMention(channel, ts, "set up the project"));
        await FakeSlackServer.WaitUntilAsync(() => _bed.Slack.Thread(channel, ts).Any(m => m.HasButton(ThreadNotices.AllowEgressAction)), SlackTestBed.Timeout, "the notice is posted");
        release.SetResult();
        await FakeSlackServer.WaitUntilAsync(() => _bed.ScalarAsync("SELECT count(*) FROM slack_replies WHERE state = 'delivered'").Result == 1, SlackTestBed.Timeout, "the answer is delivered");
        return (channel, ts);
    }

    private async Task<FakeSlackMessage> WaitForNoticeAsync(string channel, string ts)
    {
        var replies = await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Any(m => m.HasButton(ThreadNotices.AllowEgressAction)), "the notice");
        // Two refusals of the same host in one turn make one notice; the answer is a message of its own.
        Assert.Single(replies, m => m.HasButton(ThreadNotices.AllowEgressAction));
        Assert.Contains(replies, m => m.Text.StartsWith("I could not reach", StringComparison.Ordinal));
        return replies.Single(m => m.HasButton(ThreadNotices.AllowEgressAction));
    }

    private static string? ButtonLabel(FakeSlackMessage message) =>
        (string?)message.Blocks!.OfType<System.Text.Json.Nodes.JsonObject>().SelectMany(b => b["elements"]?.AsArray().OfType<System.Text.Json.Nodes.JsonObject>() ?? [])
            .Single(e => (string?)e["action_id"] == ThreadNotices.AllowEgressAction)["text"]?["text"];
}
