using System.Net.Sockets;
using Centaur.Api.Sandboxes;

namespace Centaur.Tests.Sandboxes;

/// <summary>
/// What code the agent runs can and cannot reach. Commands run as the agent would run them: through a real
/// Claude Bash tool call inside the sandbox; the fake LLM receives their output as the tool_result.
/// </summary>
[Collection(SandboxCollection.Name)]
public sealed class IsolationTests(SandboxFixture fixture) : IAsyncLifetime
{
    private readonly List<string> _sandboxes = [];

    [Fact]
    public async Task ASandboxCanOpenNoTcpConnectionExceptThroughTheProxy()
    {
        var llmPort = new Uri(fixture.Llm.Url).Port;
        var toolsPort = new Uri(fixture.Tools.Url).Port;
        using (var probe = new TcpClient())
        {
            // The host ports are really open: a "closed" inside the sandbox is the sandbox's doing.
            await probe.ConnectAsync("127.0.0.1", llmPort, TestContext.Current.CancellationToken);
        }

        var (_, wire) = await StartAsync("net");
        // 192.0.2.1 is a documentation address (TEST-NET-1): a public-style target that is never a real host.
        var output = await RunAsync(wire, $"for t in 127.0.0.1:{llmPort} 127.0.0.1:{toolsPort} 127.0.0.1:22 192.0.2.1:443; do " +
            "if timeout 3 bash -c \"exec 3<>/dev/tcp/${t%:*}/${t#*:}\" 2>/dev/null; then echo open $t; else echo closed $t; fi; done; " +
            "echo routes=$(ip -o route 2>/dev/null | wc -l) links=$(ls /sys/class/net 2>/dev/null | tr '\\n' ' '); " +
            "curl -s -o /dev/null -w 'proxy=%{http_code}\\n' http://127.0.0.1:8787/v1/models");

        Assert.Contains($"closed 127.0.0.1:{llmPort}", output, StringComparison.Ordinal);
        Assert.Contains($"closed 127.0.0.1:{toolsPort}", output, StringComparison.Ordinal);
        Assert.Contains("closed 127.0.0.1:22", output, StringComparison.Ordinal);
        Assert.Contains("closed 192.0.2.1:443", output, StringComparison.Ordinal);
        Assert.DoesNotContain("open ", output, StringComparison.Ordinal);
        Assert.Contains("routes=0", output, StringComparison.Ordinal);
        Assert.Contains("proxy=200", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TwoThreadsGetTwoSandboxesThatCannotSeeEachOthersFilesOrProcesses()
    {
        var (a, wireA) = await StartAsync("iso-a");
        var (b, wireB) = await StartAsync("iso-b");

        var inA = await RunAsync(wireA, "echo only-in-a > ~/workspace/a-only.txt && (setsid sleep 60 >/dev/null 2>&1 &) && echo started");
        var inB = await RunAsync(wireB, "find / \\( -path /proc -o -path /sys -o -path /usr -o -path /opt/centaur/harnesses \\) -prune -o -name a-only.txt -print 2>/dev/null | head -3; echo found-end; " +
            "echo procs=$(ls /proc | grep -cE '^[0-9]+$'); ps -eo comm= | sort -u | tr '\\n' ' '; echo; ls /home");

        Assert.NotEqual(a.SandboxId, b.SandboxId);
        Assert.Contains("started", inA, StringComparison.Ordinal);
        Assert.StartsWith("found-end", inB.TrimStart(), StringComparison.Ordinal);
        Assert.DoesNotContain("sleep", inB, StringComparison.Ordinal);
        Assert.DoesNotContain("postgres", inB, StringComparison.Ordinal);
        var procs = int.Parse(inB.Split("procs=")[1].Split('\n')[0].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(procs, 3, 15);
        Assert.Equal("agent", inB.Trim().Split('\n')[^1].Trim());
    }

    [Fact]
    public async Task NoRealSecretReachesTheSandboxEnvironmentOrItsFiles()
    {
        var thread = SandboxFixture.NewThread("secrets");
        var (info, wire) = await fixture.StartAsync(thread);
        _sandboxes.Add(info.SandboxId);

        // Every process's environment (runtime, CLI, shell), then the files; the pattern is split so that the
        // command line itself (kept in the CLI's transcript) does not match.
        var output = await RunAsync(wire, "for p in /proc/[0-9]*; do tr '\\0' '\\n' < $p/environ 2>/dev/null; done | sort -u; echo ---; " +
            "grep -rl Centaur\"\"Planted /home /tmp /run /etc 2>/dev/null | head -3; echo grep-end; cat /etc/shadow 2>&1 | head -1");

        Assert.DoesNotContain(SandboxFixture.PlantedSecret, output, StringComparison.Ordinal);
        Assert.Contains("---\ngrep-end", output, StringComparison.Ordinal);
        Assert.Contains("ANTHROPIC_API_KEY=centaur-placeholder:anthropic-api-key", output, StringComparison.Ordinal);
        Assert.Contains("OPENAI_API_KEY=centaur-placeholder:openai-api-key", output, StringComparison.Ordinal);
        Assert.Contains("HTTPS_PROXY=http://sandbox:sbx1.", output, StringComparison.Ordinal);
        Assert.Contains("NODE_USE_ENV_PROXY=1", output, StringComparison.Ordinal);
        Assert.Contains("NODE_EXTRA_CA_CERTS=/opt/centaur/ca/proxy-ca.pem", output, StringComparison.Ordinal);
        Assert.Contains("SSL_CERT_FILE=/opt/centaur/ca/proxy-ca.pem", output, StringComparison.Ordinal);
        Assert.Contains("CENTAUR_API_URL=http://127.0.0.1:8788", output, StringComparison.Ordinal);
        Assert.Contains("No such file", output, StringComparison.Ordinal);
        foreach (var file in Directory.EnumerateFiles(fixture.Backend.ThreadHome(thread), "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            Assert.DoesNotContain(SandboxFixture.PlantedSecret, await File.ReadAllTextAsync(file, TestContext.Current.CancellationToken), StringComparison.Ordinal);
        }

        Assert.All(fixture.Llm.Requests, r => Assert.DoesNotContain(SandboxFixture.PlantedSecret, string.Join(" ", r.Headers.Values), StringComparison.Ordinal));
    }

    [Fact]
    public async Task UsrAndEtcAreReadOnlyAndOnlyHomeAndTmpAreWritable()
    {
        var (_, wire) = await StartAsync("ro");

        var output = await RunAsync(wire, "for d in /usr /etc /opt /opt/centaur/harnesses /opt/centaur/runtime ~ /tmp; do " +
            "if touch $d/probe 2>/dev/null; then echo writable $d; else echo readonly $d; fi; done; grep -E 'CapEff|NoNewPrivs' /proc/self/status | tr -s '\\t ' ' '");

        Assert.Contains("readonly /usr", output, StringComparison.Ordinal);
        Assert.Contains("readonly /etc", output, StringComparison.Ordinal);
        Assert.Contains("readonly /opt", output, StringComparison.Ordinal);
        Assert.Contains("readonly /opt/centaur/harnesses", output, StringComparison.Ordinal);
        Assert.Contains("readonly /opt/centaur/runtime", output, StringComparison.Ordinal);
        Assert.Contains("writable /home/agent", output, StringComparison.Ordinal);
        Assert.Contains("writable /tmp", output, StringComparison.Ordinal);
        Assert.Contains("CapEff: 0000000000000000", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ResourceLimitsAreInForceAndReportedInHealth()
    {
        var (info, _) = await StartAsync("limits");
        var health = await new Api.Sandboxes.Local.LocalSandboxHealthCheck(fixture.Backend).CheckHealthAsync(new(), TestContext.Current.CancellationToken);

        Assert.Contains("bubblewrap", health.Description, StringComparison.Ordinal);
        Assert.Contains(fixture.Backend.Limits.Describe(), health.Description, StringComparison.Ordinal);
        if (fixture.Backend.Limits.Mode == "cgroup-v1")
        {
            Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, health.Status);
            var group = Directory.GetDirectories("/sys/fs/cgroup/pids", info.SandboxId, SearchOption.AllDirectories).Single();
            Assert.Equal("1024", (await File.ReadAllTextAsync(Path.Combine(group, "pids.max"), TestContext.Current.CancellationToken)).Trim());
            Assert.NotEmpty((await File.ReadAllTextAsync(Path.Combine(group, "cgroup.procs"), TestContext.Current.CancellationToken)).Trim());
        }
    }

    private async Task<string> RunAsync(ISandboxWire wire, string command)
    {
        var turn = await SandboxFixture.TurnAsync(wire, 1, "TOOL: " + command);
        Assert.True(turn.Succeeded, turn.ToString());
        return turn.ToolResults.LastOrDefault() ?? throw new InvalidOperationException("no tool result\n" + turn);
    }

    private async Task<(SandboxInfo Info, ISandboxWire Wire)> StartAsync(string name)
    {
        var started = await fixture.StartAsync(SandboxFixture.NewThread(name));
        _sandboxes.Add(started.Info.SandboxId);
        return started;
    }

    public ValueTask InitializeAsync()
    {
        fixture.Llm.Reset();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var id in _sandboxes)
        {
            await fixture.Backend.StopAsync(id, CancellationToken.None);
        }
    }
}
