using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Centaur.Tests.Infrastructure;

namespace Centaur.Tests.Slack;

/// <summary>The HTTP transport: verification, url_verification, refusals that store nothing, dedupe of retries.</summary>
[Collection(AppCollection.Name)]
public sealed class SlackInboundTests(CentaurAppFixture fixture) : IAsyncLifetime
{
    private SlackTestBed _bed = null!;

    public async ValueTask InitializeAsync() => _bed = await SlackTestBed.StartAsync(fixture);

    public ValueTask DisposeAsync() => _bed.DisposeAsync();

    [Fact]
    public async Task UrlVerificationAnswersTheChallenge()
    {
        var body = JsonNode.Parse("""{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}""")!.AsObject();

        using var response = await _bed.SendAsync(SignedSlackRequest.Event(body));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", json.RootElement.GetProperty("challenge").GetString());
    }

    [Fact]
    public async Task BadSignaturesAreRefusedWithACodeAndNothingIsStored()
    {
        var channel = SlackPayloads.NewChannel();
        var body = SlackPayloads.Callback(SlackPayloads.AppMention(channel, SlackPayloads.NewTs(), "hello"));

        using var wrongSecret = await _bed.SendAsync(SignedSlackRequest.Event(body, secret: "not-the-secret"));
        using var stale = await _bed.SendAsync(SignedSlackRequest.Event(body, at: DateTimeOffset.UtcNow.AddMinutes(-6)));
        using var future = await _bed.SendAsync(SignedSlackRequest.Event(body, at: DateTimeOffset.UtcNow.AddMinutes(6)));
        var tamperedRequest = SignedSlackRequest.Event(body);
        tamperedRequest.Content = new StringContent(body.ToJsonString().Replace("hello", "hellO", StringComparison.Ordinal), System.Text.Encoding.UTF8, "application/json");
        using var tampered = await _bed.SendAsync(tamperedRequest);
        using var unsigned = await _bed.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/slack/events") { Content = new StringContent(body.ToJsonString()) });

        Assert.Equal("slack_signature_invalid", await CodeAsync(wrongSecret, HttpStatusCode.Unauthorized));
        Assert.Equal("slack_timestamp_stale", await CodeAsync(stale, HttpStatusCode.Unauthorized));
        Assert.Equal("slack_timestamp_stale", await CodeAsync(future, HttpStatusCode.Unauthorized));
        Assert.Equal("slack_signature_invalid", await CodeAsync(tampered, HttpStatusCode.Unauthorized));
        Assert.Equal("slack_signature_missing", await CodeAsync(unsigned, HttpStatusCode.Unauthorized));
        Assert.Equal(0, await _bed.ScalarAsync("SELECT count(*) FROM slack_inbox"));
        Assert.Empty(_bed.Api.Spawns);
    }

    [Fact]
    public async Task ABodyThatCanNeverSucceedIsRefusedWithNoRetry()
    {
        using var malformed = await _bed.SendAsync(SignedSlackRequest.Build("/slack/events", "{not json", "application/json"));
        var otherApp = SlackPayloads.Callback(SlackPayloads.AppMention(SlackPayloads.NewChannel(), SlackPayloads.NewTs(), "hi"));
        otherApp["api_app_id"] = "A_SOMEONE_ELSE";
        using var wrongApp = await _bed.SendAsync(SignedSlackRequest.Event(otherApp));

        Assert.Equal("slack_malformed_body", await CodeAsync(malformed, HttpStatusCode.BadRequest));
        Assert.Equal("1", malformed.Headers.GetValues("X-Slack-No-Retry").Single());
        Assert.Equal("slack_wrong_app", await CodeAsync(wrongApp, HttpStatusCode.BadRequest));
        Assert.Equal("1", wrongApp.Headers.GetValues("X-Slack-No-Retry").Single());
        Assert.Equal(0, await _bed.ScalarAsync("SELECT count(*) FROM slack_inbox"));
    }

    [Fact]
    public async Task AnEventIsStoredBeforeTheAcknowledgement()
    {
        var eventId = SlackPayloads.NewEventId();
        _bed.Api.Script = async turn =>
        {
            await Task.Delay(TimeSpan.FromSeconds(30), turn.Cancelled);
            return Fakes.FakeCentaurApi.FakeOutcome.Succeeded("late");
        };

        using var response = await _bed.PostEventAsync(SlackPayloads.AppMention(SlackPayloads.NewChannel(), SlackPayloads.NewTs(), "hi"), eventId);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, await _bed.ScalarAsync("SELECT count(*) FROM slack_inbox WHERE delivery_id = @id", ("id", eventId)));
    }

    [Fact]
    public async Task ThreeRetriesOfOneEventMakeOneTurnAndOneReply()
    {
        var channel = SlackPayloads.NewChannel();
        var ts = SlackPayloads.NewTs();
        var mention = SlackPayloads.AppMention(channel, ts, "why are the billing tests failing?");
        var eventId = SlackPayloads.NewEventId();

        foreach (var retry in new int?[] { null, 1, 2, 3 })
        {
            using var response = await _bed.PostEventAsync(mention, eventId, retry);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var replies = await _bed.WaitForBotRepliesAsync(channel, ts, r => r.Count == 1 && !r[0].HasButton("centaur.stop"), "the answer is delivered");
        await Task.Delay(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken);

        Assert.Single(_bed.Api.Executions);
        Assert.Single(_bed.Slack.Thread(channel, ts), m => m.BotId is not null);
        Assert.Equal("Hello from the fake agent.", replies[0].Text);
        Assert.Equal(1, await _bed.ScalarAsync("SELECT count(*) FROM slack_inbox WHERE delivery_id = @id", ("id", eventId)));
    }

    private static async Task<string?> CodeAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        Assert.Equal(expected, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        return problem.RootElement.GetProperty("code").GetString();
    }
}
