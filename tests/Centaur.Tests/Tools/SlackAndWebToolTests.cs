using System.Net;
using System.Text;
using Centaur.Tests.ControlPlane;
using Centaur.Tests.Fakes.FakeSlackWebApi;
using Centaur.Tests.Infrastructure;

namespace Centaur.Tests.Tools;

/// <summary>
/// The slack and web tools calling real HTTP servers: a fake of Slack's Web API (Slack:ApiBaseUrl) that accepts only
/// the bot token's placeholder, and a small web site. Without IronProxy configured the tools connect directly;
/// private addresses are allowed here only because both servers are on 127.0.0.1.
/// </summary>
[Collection(AppCollection.Name)]
public sealed class SlackAndWebToolTests(SlackAndWebToolTests.Servers servers) : IClassFixture<SlackAndWebToolTests.Servers>
{
    private FakeSlackWebApi FakeSlack => servers.Slack;

    private LoopbackSite Site => servers.Site;

    private ApiProcess Api => servers.Api;

    /// <summary>The fake Slack, the site, and an API process pointed at them, shared by this class's tests.</summary>
    public sealed class Servers(CentaurAppFixture fixture) : IAsyncLifetime
    {
        public FakeSlackWebApi Slack { get; private set; } = null!;

        public LoopbackSite Site { get; private set; } = null!;

        public ApiProcess Api { get; private set; } = null!;

        public async ValueTask InitializeAsync()
        {
            Slack = await FakeSlackWebApi.StartAsync();
            Site = await LoopbackSite.StartAsync();
            Api = await fixture.StartApiProcessAsync(new Dictionary<string, string>
            {
                ["Slack__ApiBaseUrl"] = Slack.ApiBaseUrl.ToString(),
                ["Tools__AllowPrivateAddresses"] = "true",
            });
        }

        public async ValueTask DisposeAsync()
        {
            await Api.DisposeAsync();
            await Site.DisposeAsync();
            await Slack.DisposeAsync();
        }
    }

    private async Task<ToolCaller> SlackThreadAsync(string channel, string ts)
    {
        var thread = $"slack:{channel}:{ts}";
        using var http = Api.CreateClient();
        await new AgentClient(http).SpawnAsync(thread);
        return new ToolCaller(Api, thread);
    }

    [Fact]
    public async Task GetThreadHistoryReadsTheThreadWithThePlaceholderToken()
    {
        var caller = await SlackThreadAsync("C1HIST", "1700000000.000100");
        FakeSlack.AddMessage("C1HIST", "1700000000.000100", "U1", "billing tests fail");
        FakeSlack.AddMessage("C1HIST", "1700000000.000100", "U2", "since Tuesday");

        var (status, body) = await caller.CallAsync("slack", "get_thread_history", """{"limit":10}""");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(["billing tests fail", "since Tuesday"], body["result"]!["messages"]!.AsArray().Select(m => m!["text"]!.GetValue<string>()));
        var call = Assert.Single(FakeSlack.Calls, c => c.Method == "conversations.replies" && (string?)c.Args["channel"] == "C1HIST");
        Assert.Equal("1700000000.000100", (string?)call.Args["ts"]);
        Assert.Equal("10", (string?)call.Args["limit"]);
        Assert.Equal(FakeSlackWebApi.ExpectedToken, call.Authorization);
    }

    [Fact]
    public async Task PostMessagePostsIntoTheThreadAndIsOnTheLedger()
    {
        var caller = await SlackThreadAsync("C2POST", "1700000000.000200");

        var (status, body) = await caller.CallAsync("slack", "post_message", """{"text":"Found it: a flaky clock."}""");

        Assert.Equal(HttpStatusCode.OK, status);
        var posted = Assert.Single(FakeSlack.Thread("C2POST", "1700000000.000200"));
        Assert.Equal("Found it: a flaky clock.", (string?)posted["text"]);
        Assert.Equal((string?)posted["ts"], body["result"]!["ts"]!.GetValue<string>());
        Assert.Equal(1, await caller.LedgerCountAsync());
        Assert.Equal([("slack", "post_message", "ok", (long?)null)], await caller.AuditAsync());
    }

    [Fact]
    public async Task UploadFileSendsTheBytesAndCompletesTheUploadIntoTheThread()
    {
        var caller = await SlackThreadAsync("C3FILE", "1700000000.000300");
        var csv = "name,count\nbilling,3\n";

        var (status, body) = await caller.CallAsync("slack", "upload_file",
            $$"""{"filename":"report.csv","content_base64":"{{Convert.ToBase64String(Encoding.UTF8.GetBytes(csv))}}","comment":"the counts"}""");

        Assert.Equal(HttpStatusCode.OK, status);
        var fileId = body["result"]!["file_id"]!.GetValue<string>();
        Assert.Equal(csv, Encoding.UTF8.GetString(FakeSlack.Upload(fileId)!));
        var ticket = Assert.Single(FakeSlack.Calls, c => c.Method == "files.getUploadURLExternal" && (string?)c.Args["filename"] == "report.csv");
        Assert.Equal(Encoding.UTF8.GetByteCount(csv).ToString(System.Globalization.CultureInfo.InvariantCulture), (string?)ticket.Args["length"]);
        var complete = Assert.Single(FakeSlack.Calls, c => c.Method == "files.completeUploadExternal" && (string?)c.Args["channel_id"] == "C3FILE");
        Assert.Equal("1700000000.000300", (string?)complete.Args["thread_ts"]);
        Assert.Equal("the counts", (string?)complete.Args["initial_comment"]);
        Assert.Equal(fileId, (string?)complete.Args["files"]![0]!["id"]);
        Assert.Equal("report.csv", (string?)complete.Args["files"]![0]!["title"]);
    }

    [Fact]
    public async Task UploadFileWithoutContentNamesTheField()
    {
        var caller = await SlackThreadAsync("C4BAD", "1700000000.000400");

        var (status, problem) = await caller.CallAsync("slack", "upload_file", """{"filename":"empty.txt"}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("content", problem["field"]!.GetValue<string>());
        Assert.DoesNotContain(FakeSlack.Calls, c => c.Method == "files.getUploadURLExternal" && (string?)c.Args["filename"] == "empty.txt");
    }

    [Fact]
    public async Task SlackErrorsAndNonSlackThreadsGetClearProblems()
    {
        var missing = await SlackThreadAsync("C5GONE", "1700000000.000500");
        FakeSlack.MissingChannels["C5GONE"] = true;
        using var http = Api.CreateClient();
        var cli = AgentClient.NewThreadKey("cli");
        await new AgentClient(http).SpawnAsync(cli);

        var (gone, goneProblem) = await missing.CallAsync("slack", "post_message", """{"text":"hello?"}""");
        var (notSlack, notSlackProblem) = await new ToolCaller(Api, cli).CallAsync("slack", "get_thread_history");

        Assert.Equal(HttpStatusCode.BadGateway, gone);
        Assert.Equal("slack_error", goneProblem["code"]!.GetValue<string>());
        Assert.Equal("Slack chat.postMessage failed: channel_not_found", goneProblem["detail"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Conflict, notSlack);
        Assert.Equal("not_a_slack_thread", notSlackProblem["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task WebFetchReturnsAPagesReadableTextFollowingRedirects()
    {
        var caller = new ToolCaller(Api, AgentClient.NewThreadKey());

        var (status, body) = await caller.CallAsync("web", "fetch", $$"""{"url":"{{Site.BaseUrl}}moved"}""");
        var (_, shortBody) = await caller.CallAsync("web", "fetch", $$"""{"url":"{{Site.BaseUrl}}runbook","max_chars":7}""");
        var (_, image) = await caller.CallAsync("web", "fetch", $$"""{"url":"{{Site.BaseUrl}}logo.png"}""");

        Assert.Equal(HttpStatusCode.OK, status);
        var result = body["result"]!;
        Assert.Equal(200, result["status"]!.GetValue<int>());
        Assert.Equal($"{Site.BaseUrl}runbook", result["final_url"]!.GetValue<string>());
        Assert.Equal("Billing runbook\nRestart the billing worker & check the queue.\nstep one\nstep two", result["text"]!.GetValue<string>());
        Assert.False(result["truncated"]!.GetValue<bool>());
        Assert.Equal("Billing", shortBody["result"]!["text"]!.GetValue<string>());
        Assert.True(shortBody["result"]!["truncated"]!.GetValue<bool>());
        Assert.Null(image["result"]!["text"]);
        Assert.Equal("image/png content (7 bytes) is not returned as text", image["result"]!["note"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("ftp://example.com/file")]
    [InlineData("http://user:pw@example.com/")]
    [InlineData("/relative")]
    public async Task WebFetchRefusesUrlsThatAreNotPlainHttp(string url)
    {
        var caller = new ToolCaller(Api, AgentClient.NewThreadKey());

        var (status, problem) = await caller.CallAsync("web", "fetch", $$"""{"url":"{{url}}"}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("url", problem["field"]!.GetValue<string>());
    }
}
