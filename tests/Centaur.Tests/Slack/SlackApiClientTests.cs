using System.Text.Json.Nodes;
using Centaur.Slack;
using Centaur.Slack.WebApi;
using Centaur.Tests.Fakes.FakeSlack;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Centaur.Tests.Slack;

/// <summary>The typed Web API client against the fake Slack server over real HTTP.</summary>
public sealed class SlackApiClientTests : IAsyncLifetime
{
    private FakeSlackServer _slack = null!;
    private HttpClient _http = null!;
    private SlackApiClient _client = null!;

    public async ValueTask InitializeAsync()
    {
        _slack = await FakeSlackServer.StartAsync();
        _http = new HttpClient { BaseAddress = _slack.ApiBaseUrl };
        var options = Options.Create(new SlackOptions { BotToken = "xoxb-test", AppToken = "xapp-test", ApiBaseUrl = _slack.ApiBaseUrl });
        _client = new SlackApiClient(new OneClientFactory(_http), options, TimeProvider.System, NullLogger<SlackApiClient>.Instance);
    }

    [Fact]
    public async Task A429WithRetryAfterIsHonouredAndThenSucceeds()
    {
        _slack.Fail("chat.postMessage", FakeFault.RateLimited(retryAfterSeconds: 1));

        var ts = await _client.PostMessageAsync(new SlackMessage("C1", null, "hi"), TestContext.Current.CancellationToken);

        var calls = _slack.CallsTo("chat.postMessage");
        Assert.Equal(2, calls.Count);
        Assert.True(calls[1].At - calls[0].At >= TimeSpan.FromSeconds(0.95), $"retried after {calls[1].At - calls[0].At}");
        Assert.Equal("hi", Assert.Single(_slack.BotMessages("C1")).Text);
        Assert.False(string.IsNullOrEmpty(ts));
    }

    [Fact]
    public async Task ARateLimitedMethodBlocksItsOtherCallersButNotOtherMethods()
    {
        _slack.Fail("chat.update", FakeFault.RateLimited(retryAfterSeconds: 2));
        var ts = await _client.PostMessageAsync(new SlackMessage("C2", null, "v1"), TestContext.Current.CancellationToken);

        var first = _client.UpdateAsync("C2", ts, "v2", null, TestContext.Current.CancellationToken);
        await FakeSlackServer.WaitUntilAsync(() => _slack.CallsTo("chat.update").Count == 1, TimeSpan.FromSeconds(5), "the first update was tried");
        var reaction = DateTimeOffset.UtcNow;
        await _client.AddReactionAsync("C2", ts, "eyes", TestContext.Current.CancellationToken);
        var reactionTook = DateTimeOffset.UtcNow - reaction;
        await first;
        await _client.UpdateAsync("C2", ts, "v3", null, TestContext.Current.CancellationToken);

        var updates = _slack.CallsTo("chat.update");
        Assert.Equal(3, updates.Count);
        Assert.True(updates[1].At - updates[0].At >= TimeSpan.FromSeconds(1.9));
        Assert.True(reactionTook < TimeSpan.FromSeconds(1), $"reactions.add waited {reactionTook}");
        Assert.Equal("v3", Assert.Single(_slack.BotMessages("C2")).Text);
    }

    [Fact]
    public async Task OkFalseBecomesATypedError()
    {
        var error = await Assert.ThrowsAsync<SlackApiException>(() => _client.UpdateAsync("C3", "1.2", "x", null, TestContext.Current.CancellationToken));

        Assert.Equal("message_not_found", error.Error);
        Assert.Equal(SlackErrorKind.MessageGone, error.Kind);
    }

    [Fact]
    public async Task UpdateOverFourThousandCharactersIsMsgTooLong()
    {
        var ts = await _client.PostMessageAsync(new SlackMessage("C4", null, "short"), TestContext.Current.CancellationToken);

        var error = await Assert.ThrowsAsync<SlackApiException>(() => _client.UpdateAsync("C4", ts, new string('x', 4001), null, TestContext.Current.CancellationToken));

        Assert.Equal(SlackErrorKind.TooLong, error.Kind);
    }

    [Fact]
    public async Task AlreadyReactedAndNoReactionCountAsSuccess()
    {
        var ts = await _client.PostMessageAsync(new SlackMessage("C5", null, "m"), TestContext.Current.CancellationToken);

        await _client.AddReactionAsync("C5", ts, "eyes", TestContext.Current.CancellationToken);
        await _client.AddReactionAsync("C5", ts, "eyes", TestContext.Current.CancellationToken);
        await _client.RemoveReactionAsync("C5", ts, "eyes", TestContext.Current.CancellationToken);
        await _client.RemoveReactionAsync("C5", ts, "eyes", TestContext.Current.CancellationToken);

        Assert.False(_slack.HasReaction("C5", ts, "eyes"));
    }

    [Fact]
    public async Task RepliesAndUsersInfoAreGetRequestsAndUploadsUseTheThreeSteps()
    {
        var parent = _slack.AddHumanMessage("C6", null, "UALICE", "question");
        _slack.AddHumanMessage("C6", parent, "UBOB", "a reply");

        var replies = await _client.RepliesAsync("C6", parent, null, TestContext.Current.CancellationToken);
        var name = await _client.UserNameAsync("UBOB", TestContext.Current.CancellationToken);
        var fileId = await _client.UploadFileAsync("C6", parent, "report.txt", "hello"u8.ToArray(), TestContext.Current.CancellationToken);

        Assert.Equal(["question", "a reply"], replies.Select(m => (string?)m["text"]));
        Assert.Equal("Person", name);
        Assert.StartsWith("F", fileId, StringComparison.Ordinal);
        Assert.Equal("5", (string?)_slack.CallsTo("files.getUploadURLExternal").Single().Args["length"]);
        Assert.Equal(parent, (string?)_slack.CallsTo("files.completeUploadExternal").Single().Args["thread_ts"]);
    }

    [Fact]
    public async Task MessagesCarryTheirExecutionInMetadata()
    {
        await _client.PostMessageAsync(new SlackMessage("C7", "1.1", "part", null, 42, 3), TestContext.Current.CancellationToken);

        var metadata = _slack.BotMessages("C7").Single().Metadata!;
        Assert.Equal("centaur_reply", (string?)metadata["event_type"]);
        Assert.Equal(42, (long?)metadata["event_payload"]!["execution_id"]);
        Assert.Equal(3, (int?)metadata["event_payload"]!["part"]);
        Assert.True(JsonNode.DeepEquals(JsonValue.Create(false), _slack.CallsTo("chat.postMessage").Single().Args["unfurl_links"]));
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _slack.DisposeAsync();
    }
}

/// <summary>Hands out one HttpClient (the factory's clients are not disposed by their users).</summary>
internal sealed class OneClientFactory(HttpClient http) : IHttpClientFactory
{
    public HttpClient CreateClient(string name) => http;
}
