using System.Net;
using System.Text.Json;
using Centaur.Tests.Fakes.FakeSlack;
using Centaur.Tests.Infrastructure;

namespace Centaur.Tests.Slack;

/// <summary>The AppHost with Slack secrets and a fake Slack's URL given as AppHost configuration, as an operator would.</summary>
public sealed class SlackAppFixture : CentaurAppFixture
{
    public FakeSlackServer Slack { get; private set; } = null!;

    protected override IEnumerable<string> AppHostArguments =>
    [
        $"Parameters:slack-signing-secret={SignedSlackRequest.Secret}",
        "Parameters:slack-bot-token=xoxb-apphost-token",
        $"Slack:ApiBaseUrl={Slack.ApiBaseUrl}",
    ];

    public override async ValueTask InitializeAsync()
    {
        Slack = await FakeSlackServer.StartAsync();
        await base.InitializeAsync();
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Slack.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class SlackAppCollection : ICollectionFixture<SlackAppFixture>
{
    public const string Name = "slack-app";
}

[Collection(SlackAppCollection.Name)]
public sealed class SlackAppHostTests(SlackAppFixture fixture)
{
    [Fact]
    public async Task TheSlackServiceIsHealthyOnceItsSecretsAreSet()
    {
        using var http = fixture.App.CreateHttpClient("slack");

        using var json = JsonDocument.Parse(await http.GetStringAsync("/health", TestContext.Current.CancellationToken));

        var checks = json.RootElement.GetProperty("checks");
        Assert.Equal("Healthy", checks.GetProperty("secret:slack-bot-token").GetProperty("status").GetString());
        Assert.Equal("Healthy", checks.GetProperty("secret:slack-api-key").GetProperty("status").GetString());
        Assert.Equal("Healthy", checks.GetProperty("slack-transport").GetProperty("status").GetString());
    }

    [Fact]
    public async Task AMentionTravelsThroughTheAppHostsApiAndARepliesInItsThread()
    {
        using var http = fixture.App.CreateHttpClient("slack");
        var channel = SlackPayloads.NewChannel();
        var ts = SlackPayloads.NewTs();
        using var request = SignedSlackRequest.Event(SlackPayloads.Callback(SlackPayloads.AppMention(channel, ts, "hello from the AppHost")));

        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await FakeSlackServer.WaitUntilAsync(() => fixture.Slack.Thread(channel, ts).Any(m => m.BotId is not null && !m.HasButton("centaur.stop")),
            TimeSpan.FromSeconds(60), "the AppHost's slack service answers in the thread");
        Assert.All(fixture.Slack.Calls, c => Assert.Equal("xoxb-apphost-token", c.Token));
        Assert.Single(fixture.Slack.CallsTo("auth.test"));
        Assert.Single(fixture.Slack.Thread(channel, ts), m => m.BotId is not null);
    }
}
