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
    public async Task AMentionBecomesATurnOnTheAppHostsApi()
    {
        using var http = fixture.App.CreateHttpClient("slack");
        var channel = SlackPayloads.NewChannel();
        var ts = SlackPayloads.NewTs();
        using var request = SignedSlackRequest.Event(SlackPayloads.Callback(SlackPayloads.AppMention(channel, ts, "hello from the AppHost")));

        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);

        // The working reaction is added only after spawn → message → execute succeeded on the AppHost's API with the
        // key the AppHost generated for the adapter. (The answer itself needs a sandbox and an LLM key, which this
        // fixture does not configure; the adapter's own tests cover answers against the real control plane.)
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await FakeSlackServer.WaitUntilAsync(() => fixture.Slack.CallsTo("reactions.add").Any(c => (string?)c.Args["timestamp"] == ts),
            TimeSpan.FromSeconds(60), "the turn starts and the asking message gets the working reaction");
        Assert.All(fixture.Slack.Calls, c => Assert.Equal("xoxb-apphost-token", c.Token));
        Assert.Single(fixture.Slack.CallsTo("auth.test"));
    }
}
