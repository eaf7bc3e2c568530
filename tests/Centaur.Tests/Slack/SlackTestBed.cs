using System.Globalization;
using System.Text.Json.Nodes;
using Centaur.Slack;
using Centaur.Tests.Fakes.FakeCentaurApi;
using Centaur.Tests.Fakes.FakeSlack;
using Centaur.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Centaur.Tests.Slack;

/// <summary>
/// The Slack adapter running in-process on Kestrel against the AppHost's real Postgres, a fake Slack and (until the
/// control plane can run turns) a fake Centaur.Api. The adapter can be stopped and started again over the same
/// database to prove resumption.
/// </summary>
public sealed class SlackTestBed : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly CentaurAppFixture _fixture;
    private readonly Dictionary<string, string?> _overrides;
    private string _connectionString = "";

    private SlackTestBed(CentaurAppFixture fixture, FakeSlackServer slack, FakeCentaurApi api, Dictionary<string, string?> overrides)
    {
        _fixture = fixture;
        Slack = slack;
        Api = api;
        _overrides = overrides;
    }

    public FakeSlackServer Slack { get; }

    public FakeCentaurApi Api { get; }

    public SlackAdapterHost Adapter { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public static async Task<SlackTestBed> StartAsync(CentaurAppFixture fixture, Dictionary<string, string?>? overrides = null)
    {
        var bed = new SlackTestBed(fixture, await FakeSlackServer.StartAsync(), await FakeCentaurApi.StartAsync(), overrides ?? []);
        bed._connectionString = await fixture.App.GetConnectionStringAsync("postgres") ?? throw new InvalidOperationException("no postgres");
        await bed.ResetTablesAsync();
        try
        {
            bed.StartAdapter();
        }
        catch
        {
            // A half-started adapter would keep working the shared inbox for the next test.
            await bed.DisposeAsync();
            throw;
        }

        return bed;
    }

    public void StartAdapter()
    {
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:centaur"] = _connectionString,
            ["Slack:SigningSecret"] = SignedSlackRequest.Secret,
            ["Slack:BotToken"] = "xoxb-test-token",
            ["Slack:AppId"] = "A0001",
            ["Slack:ApiBaseUrl"] = Slack.ApiBaseUrl.ToString(),
            ["Slack:PollInterval"] = "00:00:00.500",
            ["Slack:FirstFlushDelay"] = "00:00:00.200",
            ["Slack:MinEditInterval"] = "00:00:00.200",
            ["Slack:UpdatesPerMinute"] = "600",
            ["Slack:SocketStagger"] = "00:00:00.200",
            ["Api:BaseUrl"] = Api.BaseUrl.ToString(),
            ["Api:Key"] = FakeCentaurApi.Key,
        };
        foreach (var (key, value) in _overrides)
        {
            settings[key] = value;
        }

        // UseKestrel() without a port plus our own URL: UseKestrel(port) races with Kestrel's bind
        // (dotnet/aspnetcore#67714, "IServerAddressesFeature.Addresses cannot be modified after the server has started").
        Adapter = new SlackAdapterHost(settings);
        Adapter.UseKestrel();
        Adapter.StartServer();
        Http = Adapter.CreateClient();
    }

    /// <summary>Stops the adapter abruptly (as a crash would): background work is cancelled mid-way.</summary>
    public async Task StopAdapterAsync()
    {
        Http.Dispose();
        await Adapter.DisposeAsync();
    }

    public async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request)
    {
        using (request)
        {
            return await Http.SendAsync(request, TestContext.Current.CancellationToken);
        }
    }

    public Task<HttpResponseMessage> PostEventAsync(JsonObject inner, string? eventId = null, int? retryNum = null) =>
        SendAsync(SignedSlackRequest.Event(SlackPayloads.Callback(inner, eventId), retryNum: retryNum));

    /// <summary>Waits until the bot's reply in the thread satisfies the condition; returns the bot messages of the thread.</summary>
    public async Task<IReadOnlyList<FakeSlackMessage>> WaitForBotRepliesAsync(string channel, string threadTs, Func<IReadOnlyList<FakeSlackMessage>, bool> done, string because)
    {
        IReadOnlyList<FakeSlackMessage> Replies() => [.. Slack.Thread(channel, threadTs).Where(m => m.BotId == FakeSlackServer.BotId)];
        await FakeSlackServer.WaitUntilAsync(() => done(Replies()), Timeout, because);
        return Replies();
    }

    public async Task<long> ScalarAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return Convert.ToInt64(await command.ExecuteScalarAsync(TestContext.Current.CancellationToken), CultureInfo.InvariantCulture);
    }

    /// <summary>The adapter's tables outlive one test in the shared database; each test bed starts from empty ones.</summary>
    private async Task ResetTablesAsync()
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = new NpgsqlCommand("TRUNCATE slack_inbox, slack_turns, slack_reply_parts, slack_replies, slack_notices", connection);
        await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        Http?.Dispose();
        if (Adapter is not null)
        {
            await Adapter.DisposeAsync();
        }

        await Api.DisposeAsync();
        await Slack.DisposeAsync();
    }
}

public sealed class SlackAdapterHost(Dictionary<string, string?> settings) : WebApplicationFactory<SlackAdapter>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in settings)
        {
            builder.UseSetting(key, value);
        }

        builder.UseUrls("http://127.0.0.1:0");

        builder.ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Warning).AddFilter("Centaur", LogLevel.Information));
    }

    public T Service<T>() where T : notnull => Services.GetRequiredService<T>();
}
