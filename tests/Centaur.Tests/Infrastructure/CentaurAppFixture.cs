using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Centaur.Tests.Infrastructure;

/// <summary>
/// The real AppHost (embedded Postgres, api, slack, ironproxy) started once per test collection. The database
/// lives in a throw-away folder that is deleted when the app stops.
/// </summary>
public class CentaurAppFixture : IAsyncLifetime
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(4);

    public static readonly string[] Services = ["api", "slack", "ironproxy"];

    public DistributedApplication App { get; private set; } = null!;

    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), $"centaur-test-pg-{Guid.NewGuid():N}");

    /// <summary>The app's state folder (sandbox homes, the proxy's socket and CA): short, because socket paths are limited to 107 bytes.</summary>
    public string StateDirectory { get; } = Path.Combine(Path.GetTempPath(), $"centaur-st-{Guid.NewGuid():N}"[..19]);

    /// <summary>Extra AppHost arguments (configuration) a derived fixture adds, e.g. a fake Slack's URL.</summary>
    protected virtual IEnumerable<string> AppHostArguments => [];

    protected virtual bool EphemeralDatabase => true;

    public virtual async ValueTask InitializeAsync()
    {
        using var cts = new CancellationTokenSource(StartTimeout);
        App = await StartAppAsync(cts.Token);
    }

    /// <summary>Builds and starts the AppHost with this fixture's arguments; waits until every service is healthy.</summary>
    public async Task<DistributedApplication> StartAppAsync(CancellationToken cancellationToken)
    {
        string[] args =
        [
            $"LocalPostgres:DataDirectory={DataDirectory}",
            $"LocalPostgres:Ephemeral={EphemeralDatabase}",
            $"Centaur:StateDirectory={StateDirectory}",
            // A fixed password, so an app restarted over the same data folder can log in again.
            "Parameters:postgres-password=centaur-tests-password",
            .. AppHostArguments,
        ];
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Centaur_AppHost>(
            args, (options, _) => options.DisableDashboard = true, cancellationToken);
        builder.Services.AddLogging(logging => logging
            .SetMinimumLevel(LogLevel.Warning)
            // Health probes fail until each service listens; those expected failures are not news.
            .AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None));
        var app = await builder.BuildAsync(cancellationToken);
        await app.StartAsync(cancellationToken);
        CollectLogs(app);
        foreach (var service in Services)
        {
            await app.ResourceNotifications.WaitForResourceHealthyAsync(service, cancellationToken);
        }

        return app;
    }

    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _logs = new();
    private readonly CancellationTokenSource _stopLogs = new();

    /// <summary>The last lines the services wrote (api, slack, ironproxy), for failure messages.</summary>
    public string RecentLogs(int lines = 400) => string.Join('\n', _logs.TakeLast(lines));

    private void CollectLogs(DistributedApplication app)
    {
        var logs = app.Services.GetRequiredService<ResourceLoggerService>();
        foreach (var resource in app.Services.GetRequiredService<DistributedApplicationModel>().Resources.Where(r => Services.Contains(r.Name)))
        {
            _ = Task.Run(async () =>
            {
                try
                {
                    await foreach (var batch in logs.WatchAsync(resource).WithCancellation(_stopLogs.Token))
                    {
                        foreach (var line in batch)
                        {
                            _logs.Enqueue($"[{resource.Name}] {line.Content}");
                            while (_logs.Count > 5000 && _logs.TryDequeue(out _))
                            {
                            }
                        }
                    }
                }
                catch (OperationCanceledException)
                {
                }
            });
        }
    }

    private readonly SemaphoreSlim _apiLock = new(1, 1);
    private ApiProcess? _sharedApi;
    private readonly List<ApiProcess> _apis = [];

    /// <summary>
    /// A Centaur.Api process of the test's own (own database on the AppHost's Postgres, process sandboxes running
    /// the FakeSandbox), so tests can drive turns without the AppHost's API competing for the same executions.
    /// </summary>
    public async Task<ApiProcess> StartApiProcessAsync(IReadOnlyDictionary<string, string>? settings = null)
    {
        var database = $"cp_{Guid.NewGuid():N}";
        await using (var admin = await CreateDataSourceAsync())
        await using (var create = admin.CreateCommand($"CREATE DATABASE {database}"))
        {
            await create.ExecuteNonQueryAsync();
        }

        var connection = new NpgsqlConnectionStringBuilder(await App.GetConnectionStringAsync("postgres")) { Database = database };
        var api = new ApiProcess(connection.ConnectionString, settings);
        lock (_apis)
        {
            _apis.Add(api);
        }

        await api.StartAsync(CancellationToken.None);
        return api;
    }

    /// <summary>The API process shared by the tests of this collection.</summary>
    public async Task<ApiProcess> SharedApiAsync()
    {
        await _apiLock.WaitAsync();
        try
        {
            return _sharedApi ??= await StartApiProcessAsync();
        }
        finally
        {
            _apiLock.Release();
        }
    }

    public async Task<NpgsqlDataSource> CreateDataSourceAsync() =>
        NpgsqlDataSource.Create(await App.GetConnectionStringAsync("postgres")
            ?? throw new InvalidOperationException("postgres has no connection string"));

    public virtual async ValueTask DisposeAsync()
    {
        foreach (var api in _apis)
        {
            await api.DisposeAsync();
        }

        if (App is not null)
        {
            await App.DisposeAsync();
        }

        await _stopLogs.CancelAsync();

        try
        {
            if (Directory.Exists(StateDirectory))
            {
                Directory.Delete(StateDirectory, recursive: true);
            }
        }
        catch (IOException)
        {
            // A sandbox's last files may still be closing; a left-over temp folder is not worth failing the run for.
        }

        GC.SuppressFinalize(this);
    }
}

[CollectionDefinition(Name)]
public sealed class AppCollection : ICollectionFixture<CentaurAppFixture>
{
    public const string Name = "app";
}
