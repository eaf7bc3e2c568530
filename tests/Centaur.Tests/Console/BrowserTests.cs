using System.Diagnostics;
using System.Text.Json.Nodes;
using Centaur.Tests.ControlPlane;
using Centaur.Tests.Infrastructure;

namespace Centaur.Tests.Clients;

/// <summary>
/// The web console in a real browser: Debian's Chromium, headless, driven by playwright-core from
/// Console/browser/console.test.mjs. The script signs in, opens a thread and says "ready"; this test then starts a
/// turn through the API, and the script watches it stream into the open page, sends a message from the page and
/// takes a screenshot. Any JavaScript error fails the test.
/// </summary>
[Collection(AppCollection.Name)]
public sealed class BrowserTests(CentaurAppFixture fixture)
{
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task ConsoleSignsInShowsAThreadAndStreamsALiveTurnWithoutJavaScriptErrors()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: apt-get install -y chromium (./centaur test installs it)");
        await EnsurePlaywrightAsync();
        var api = await fixture.SharedApiAsync();
        var agent = new AgentClient(api.CreateClient());
        var thread = AgentClient.NewThreadKey("console");
        var first = await agent.AskAsync(thread, "why are the billing tests failing?");
        await agent.WaitForEndAsync(thread, first["execution_id"]!.GetValue<long>());
        await EgressAuditRows.InsertAsync(api.ConnectionString, thread);
        var artifacts = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "artifacts")).FullName;
        var screenshot = Path.Combine(artifacts, "console-thread.png");
        File.Delete(screenshot);

        var lines = new List<JsonObject>();
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var node = StartScript(new Dictionary<string, string>
        {
            ["CONSOLE_URL"] = api.BaseAddress.ToString(),
            // An operator: the admin scope also shows the egress audit.
            ["API_KEY"] = ApiProcess.AdminKey,
            ["EXPECT_EGRESS_HOST"] = EgressAuditRows.AllowedHost,
            ["THREAD_KEY"] = thread,
            ["EXPECT_TEXT"] = "turn 2: look at the invoice rounding",
            ["SCREENSHOT"] = screenshot,
        }, line =>
        {
            lock (lines)
            {
                lines.Add(line);
            }

            if (line["step"]?.GetValue<string>() == "ready")
            {
                ready.TrySetResult();
            }
        }, out var stderr);
        var exited = node.WaitForExitAsync();
        await Task.WhenAny(ready.Task, exited).WaitAsync(TimeSpan.FromMinutes(2));
        Assert.True(ready.Task.IsCompleted, $"the browser script stopped before it was ready:\n{Describe(lines, stderr)}");

        await agent.MessageAsync(thread, "look at the invoice rounding\n[fake] tool=centaur.thread_status deltas=25 delay_ms=120");
        await agent.ExecuteAsync(thread);
        await exited.WaitAsync(TimeSpan.FromMinutes(3));
        node.WaitForExit();

        var result = lines.LastOrDefault();
        Assert.True(node.ExitCode == 0 && result?["ok"]?.GetValue<bool>() == true, Describe(lines, stderr));
        Assert.Empty(result!["errors"]!.AsArray());
        // The page showed the answer while it streamed: a proper prefix of it, before the whole.
        var partial = result["partial"]!.GetValue<string>();
        Assert.StartsWith(partial, "turn 2: look at the invoice rounding", StringComparison.Ordinal);
        Assert.InRange(partial.Length, 1, "turn 2: look at the invoice rounding".Length - 1);
        Assert.True(new FileInfo(screenshot).Length > 10_000, "the screenshot is missing or empty");
        if (Environment.GetEnvironmentVariable("CENTAUR_UPDATE_DOCS") == "1")
        {
            // The README's picture: refreshed on purpose only, so a test run never dirties the checkout.
            var docs = Directory.CreateDirectory(Path.Combine(RepositoryPaths.Root, "docs")).FullName;
            File.Copy(screenshot, Path.Combine(docs, "console.png"), overwrite: true);
        }
    }

    private static Process StartScript(Dictionary<string, string> environment, Action<JsonObject> onLine, out Func<string> stderr)
    {
        var start = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.Combine(RepositoryPaths.Root, "tests"),
        };
        start.ArgumentList.Add(Path.Combine(RepositoryPaths.Root, "tests", "Centaur.Tests", "Console", "browser", "console.test.mjs"));
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start)!;
        var errors = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { Length: > 0 } line && line.StartsWith('{'))
            {
                onLine(JsonNode.Parse(line)!.AsObject());
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (errors)
            {
                errors.AppendLine(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        stderr = () =>
        {
            lock (errors)
            {
                return errors.ToString();
            }
        };
        return process;
    }

    /// <summary>npm ci into tests/node_modules when playwright-core is not there yet (./centaur test does it too).</summary>
    private static async Task EnsurePlaywrightAsync()
    {
        var tests = Path.Combine(RepositoryPaths.Root, "tests");
        if (Directory.Exists(Path.Combine(tests, "node_modules", "playwright-core")))
        {
            return;
        }

        var start = new ProcessStartInfo("npm", ["ci", "--no-audit", "--no-fund"])
        {
            WorkingDirectory = tests,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var npm = Process.Start(start)!;
        var output = npm.StandardOutput.ReadToEndAsync();
        var error = npm.StandardError.ReadToEndAsync();
        await npm.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
        Assert.True(npm.ExitCode == 0, $"npm ci failed in {tests}:\n{await output}\n{await error}");
    }

    private static string Describe(List<JsonObject> lines, Func<string> stderr)
    {
        lock (lines)
        {
            return $"--- script output\n{string.Join('\n', lines.Select(l => l.ToJsonString()))}\n--- stderr\n{stderr()}";
        }
    }
}
