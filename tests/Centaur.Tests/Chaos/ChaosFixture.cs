using Centaur.Tests.Infrastructure;
using Centaur.Tests.Slack;

namespace Centaur.Tests.Chaos;

/// <summary>
/// The chaos suite's one fixture: a Postgres of its own (so killing it disturbs no other collection) and the
/// services each test starts as real OS processes over it: Centaur.Api (process sandboxes running the FakeSandbox),
/// Centaur.Slack and Centaur.IronProxy. Everything a test starts is stopped when the collection ends, whatever the
/// test did to it.
/// </summary>
public sealed class ChaosFixture : IAsyncLifetime
{
    /// <summary>Matches ApiProcess's Centaur:SandboxTokenKey: the proxy verifies the tokens the API issues.</summary>
    public const string SandboxTokenKey = "test-sandbox-token-key-0123456789abcdef";

    private readonly List<IAsyncDisposable> _started = [];

    public ChaosPostgres Postgres { get; private set; } = null!;

    public async ValueTask InitializeAsync() =>
        Postgres = await ChaosPostgres.StartAsync(TestContext.Current.CancellationToken);

    /// <summary>A Centaur.Api process with a fresh database of its own.</summary>
    public async Task<ApiProcess> StartApiAsync(IReadOnlyDictionary<string, string>? settings = null)
    {
        var api = new ApiProcess(await Postgres.CreateDatabaseAsync(TestContext.Current.CancellationToken), settings);
        Track(api);
        await api.StartAsync(TestContext.Current.CancellationToken);
        return api;
    }

    /// <summary>Centaur.Slack over the API's database, talking to <paramref name="api"/> and to a fake Slack.</summary>
    public async Task<ServiceProcess> StartSlackAsync(ApiProcess api, Uri slackApiBaseUrl, IReadOnlyDictionary<string, string>? settings = null)
    {
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__centaur"] = api.ConnectionString,
            ["Slack__SigningSecret"] = SignedSlackRequest.Secret,
            ["Slack__BotToken"] = "xoxb-test-token",
            ["Slack__AppId"] = "A0001",
            ["Slack__ApiBaseUrl"] = slackApiBaseUrl.ToString(),
            ["Slack__PollInterval"] = "00:00:00.500",
            ["Slack__FirstFlushDelay"] = "00:00:00.200",
            ["Slack__MinEditInterval"] = "00:00:00.200",
            ["Slack__UpdatesPerMinute"] = "600",
            ["Api__BaseUrl"] = api.BaseAddress.ToString(),
            ["Api__Key"] = ApiProcess.AgentKey,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        var slack = new ServiceProcess("src/Centaur.Slack", "Centaur.Slack.dll", environment);
        Track(slack);
        await slack.StartAsync(TestContext.Current.CancellationToken);
        return slack;
    }

    /// <summary>Centaur.IronProxy over the API's database (its policy), keeping its CA in <paramref name="caDirectory"/>.</summary>
    public async Task<ServiceProcess> StartProxyAsync(ApiProcess api, string caDirectory, string anthropicKey)
    {
        var proxy = new ServiceProcess("src/Centaur.IronProxy", "Centaur.IronProxy.dll", new Dictionary<string, string>
        {
            ["ConnectionStrings__centaur"] = api.ConnectionString,
            ["Centaur__SandboxTokenKey"] = SandboxTokenKey,
            ["Secrets__anthropic-api-key"] = anthropicKey,
            ["IronProxy__CaDirectory"] = caDirectory,
        }, ServiceProcess.HealthSays(health => health.Contains("policy version", StringComparison.Ordinal)));
        Track(proxy);
        await proxy.StartAsync(TestContext.Current.CancellationToken);
        return proxy;
    }

    private void Track(IAsyncDisposable process)
    {
        lock (_started)
        {
            _started.Add(process);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _started)
        {
            await process.DisposeAsync();
        }

        if (Postgres is not null)
        {
            await Postgres.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ChaosCollection : ICollectionFixture<ChaosFixture>
{
    public const string Name = "chaos";
}
