using System.Diagnostics;
using Centaur.Tests.Infrastructure;

namespace Centaur.Tests.Foundation;

/// <summary>Starts and stops its own AppHost twice over one data folder, so it has a collection of its own.</summary>
[Collection(Name)]
public sealed class AppLifecycleTests
{
    public const string Name = "app-lifecycle";

    [Fact]
    public async Task RestartingTheAppKeepsTheDataAndLeavesNoProcessBehind()
    {
        var fixture = new PersistentAppFixture();
        var ct = TestContext.Current.CancellationToken;
        var marker = $"survives-restart-{Guid.NewGuid():N}";

        // Other collections' AppHosts live in this test process too and DCP outlives them for a while; only the
        // processes this test starts are its to account for.
        var before = ProcessesOf(fixture.DataDirectory).Select(p => p.Pid).ToHashSet();
        try
        {
            await using (var first = await fixture.StartAppAsync(ct))
            {
                await using var db = await DataSourceFor(first);
                await using var create = db.CreateCommand("CREATE TABLE IF NOT EXISTS lifecycle_probe (marker text)");
                await create.ExecuteNonQueryAsync(ct);
                await using var insert = db.CreateCommand($"INSERT INTO lifecycle_probe VALUES ('{marker}')");
                await insert.ExecuteNonQueryAsync(ct);
            }

            await AssertNoProcessLeftAsync(fixture.DataDirectory, before);

            await using (var second = await fixture.StartAppAsync(ct))
            {
                await using var db = await DataSourceFor(second);
                await using var read = db.CreateCommand($"SELECT count(*) FROM lifecycle_probe WHERE marker = '{marker}'");
                Assert.Equal(1L, await read.ExecuteScalarAsync(ct));
            }

            await AssertNoProcessLeftAsync(fixture.DataDirectory, before);
        }
        finally
        {
            if (Directory.Exists(fixture.DataDirectory))
            {
                Directory.Delete(fixture.DataDirectory, recursive: true);
            }
        }
    }

    private static async Task<Npgsql.NpgsqlDataSource> DataSourceFor(Aspire.Hosting.DistributedApplication app) =>
        Npgsql.NpgsqlDataSource.Create((await app.GetConnectionStringAsync("postgres"))!);

    /// <summary>
    /// DCP tears the app down asynchronously after the AppHost stops (it watches the host process), so poll for a
    /// bounded time (generous: a loaded CI machine makes DCP slow) until every process the app started is gone.
    /// </summary>
    private static async Task AssertNoProcessLeftAsync(string dataDirectory, HashSet<string> preexisting)
    {
        var deadline = Stopwatch.StartNew();
        List<string> left;
        do
        {
            left = [.. ProcessesOf(dataDirectory).Where(p => !preexisting.Contains(p.Pid)).Select(p => p.CommandLine)];
            if (left.Count == 0)
            {
                return;
            }

            await Task.Delay(500);
        }
        while (deadline.Elapsed < TimeSpan.FromSeconds(120));

        Assert.Fail($"processes left behind: {string.Join(" | ", left)}");
    }

    /// <summary>
    /// Every postgres serving this data folder: the database must be down before the app is started again over it.
    /// Not DCP or the services: with an in-process app DCP sometimes tears them down only when the process it monitors
    /// (this test process) exits; a real AppHost process leaves nothing behind after SIGTERM (checked by hand, see the
    /// closing note of 2026-11-27), which this in-process test cannot show reliably.
    /// </summary>
    private static List<(string Pid, string CommandLine)> ProcessesOf(string dataDirectory)
    {
        return [.. Directory.EnumerateDirectories("/proc")
            .Select(d => Path.GetFileName(d))
            .Where(p => p.All(char.IsAsciiDigit))
            .Select(p => (Pid: p, CommandLine: ReadCommandLine(p)))
            .Where(p => p.CommandLine.Contains("postgres", StringComparison.Ordinal) && p.CommandLine.Contains(dataDirectory, StringComparison.Ordinal))];
    }

    private static string ReadCommandLine(string pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
        }
        catch (IOException)
        {
            return "";
        }
        catch (UnauthorizedAccessException)
        {
            return "";
        }
    }

    private sealed class PersistentAppFixture : CentaurAppFixture
    {
        protected override bool EphemeralDatabase => false;
    }
}
