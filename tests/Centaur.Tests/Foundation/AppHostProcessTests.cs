using System.Diagnostics;
using System.Globalization;
using System.Net;
using Centaur.Tests.Infrastructure;

namespace Centaur.Tests.Foundation;

/// <summary>
/// The AppHost as users run it (`./centaur up`): its own OS process with the dashboard, its embedded Postgres and the
/// three services. SIGTERM (systemd, Kubernetes, `kill`) or SIGINT (Ctrl-C) must leave no process of the app
/// behind. An in-process test app cannot show this: DCP watches the process that started it, which would
/// be the test host itself.
/// </summary>
[Collection(Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class AppHostProcessTests
{
    public const string Name = "apphost-process";

    private static readonly TimeSpan s_stopTimeout = TimeSpan.FromSeconds(90);

    [Theory]
    [InlineData("TERM")]
    [InlineData("INT")]
    public async Task AStopSignalEndsEveryProcessOfTheApp(string signal)
    {
        var state = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"centaur-ah-{Guid.NewGuid():N}"[..18]));
        // As root, postgres runs as the postgres user and must reach its data folder below this one.
        state.UnixFileMode |= UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        int[] ports = [ServiceProcess.FreePort(), ServiceProcess.FreePort(), ServiceProcess.FreePort()];
        var environment = new Dictionary<string, string>
        {
            ["DOTNET_ENVIRONMENT"] = "Development",
            ["ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL"] = $"http://127.0.0.1:{ServiceProcess.FreePort()}",
            ["ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL"] = $"http://127.0.0.1:{ServiceProcess.FreePort()}",
            ["ASPIRE_ALLOW_UNSECURED_TRANSPORT"] = "true",
            ["ASPIRE_VERSION_CHECK_DISABLED"] = "true",
            ["Ports__api"] = Invariant(ports[0]),
            ["Ports__slack"] = Invariant(ports[1]),
            ["Ports__ironproxy"] = Invariant(ports[2]),
            ["Centaur__StateDirectory"] = state.FullName,
        };
        // Given values, so the AppHost does not generate and persist them into the developer's user secrets.
        foreach (var secret in new[] { "postgres-password", "sandbox-token-key", "slack-api-key", "ironproxy-api-key", "admin-api-key" })
        {
            environment[$"Parameters__{secret}"] = $"apphost-process-test-{secret}-0123456789";
        }

        // The AppHost's own URL (ASPNETCORE_URLS, the service process's port) is the dashboard's.
        await using var appHost = new ServiceProcess("src/Centaur.AppHost", "Centaur.AppHost.dll", environment, (dashboard, ct) => AllAnswerAsync(dashboard, ports, ct))
        {
            StartTimeout = TimeSpan.FromMinutes(4),
        };
        try
        {
            await appHost.StartAsync(TestContext.Current.CancellationToken);
            var app = ProcessesOfApp(appHost.ProcessId!.Value);
            var commandLines = string.Join('\n', app.Select(p => p.CommandLine));
            foreach (var expected in new[] { "dcp start-apiserver", "Aspire.Dashboard", $"postgres -D {state.FullName}", "Centaur.Api", "Centaur.Slack", "Centaur.IronProxy" })
            {
                Assert.True(commandLines.Contains(expected, StringComparison.Ordinal), $"no process of the app runs '{expected}':\n{commandLines}");
            }

            var exitCode = await appHost.TerminateAsync(s_stopTimeout, signal);

            Assert.Equal(0, exitCode);
            var deadline = Stopwatch.StartNew();
            List<AppProcess> left;
            while ((left = [.. app.Where(p => p.IsAlive())]).Count > 0 && deadline.Elapsed < s_stopTimeout)
            {
                await Task.Delay(500, TestContext.Current.CancellationToken);
            }

            Assert.True(left.Count == 0, $"{left.Count} processes of the app still run {s_stopTimeout} after SIG{signal}:\n{string.Join('\n', left.Select(p => p.CommandLine))}");
        }
        finally
        {
            state.Delete(recursive: true);
        }
    }

    /// <summary>Up when the dashboard answers and every service's /health says 200 (Degraded is fine: no Slack or LLM secrets here).</summary>
    private static async Task<bool> AllAnswerAsync(HttpClient dashboard, int[] servicePorts, CancellationToken cancellationToken)
    {
        using var page = await dashboard.GetAsync("/", cancellationToken);
        foreach (var port in servicePorts)
        {
            using var health = await dashboard.GetAsync($"http://127.0.0.1:{port}/health", cancellationToken);
            if (health.StatusCode != HttpStatusCode.OK)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The AppHost's descendants plus DCP's API server, which detaches from it (parent 1) but names it with
    /// `--monitor &lt;pid&gt;`, and that server's descendants (controllers, dashboard, postgres, services).
    /// </summary>
    private static List<AppProcess> ProcessesOfApp(int appHostPid)
    {
        var all = Directory.EnumerateDirectories("/proc")
            .Select(Path.GetFileName)
            .Where(name => name!.All(char.IsAsciiDigit))
            .Select(name => AppProcess.Read(int.Parse(name!, CultureInfo.InvariantCulture)))
            .OfType<AppProcess>()
            .ToList();
        var roots = all.Where(p => p.Pid == appHostPid || p.CommandLine.Contains($"--monitor {appHostPid} ", StringComparison.Ordinal)).ToList();
        var found = roots.ToDictionary(p => p.Pid);
        for (var added = true; added;)
        {
            added = false;
            foreach (var child in all.Where(p => !found.ContainsKey(p.Pid) && found.ContainsKey(p.ParentPid)))
            {
                found[child.Pid] = child;
                added = true;
            }
        }

        return [.. found.Values];
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A process identified by pid AND start time, so a recycled pid is not mistaken for a survivor.</summary>
    private sealed record AppProcess(int Pid, int ParentPid, long StartTicks, char State, string CommandLine)
    {
        public static AppProcess? Read(int pid)
        {
            try
            {
                // /proc/<pid>/stat: "pid (comm) state ppid … starttime" (field 22); comm may hold spaces, so split after ')'.
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                var commandLine = File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
                return new AppProcess(pid, int.Parse(fields[1], CultureInfo.InvariantCulture), long.Parse(fields[19], CultureInfo.InvariantCulture), fields[0][0], commandLine);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return null; // gone meanwhile
            }
        }

        /// <summary>A zombie has exited; only its parent has not collected it yet.</summary>
        public bool IsAlive() => Read(Pid) is { } now && now.StartTicks == StartTicks && now.State != 'Z';
    }
}
