using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Centaur.Api.Auth;

namespace Centaur.Tests.Infrastructure;

/// <summary>
/// Centaur.Api started by the test as its own OS process (so a test can kill -9 it and start it again) against the
/// AppHost's real Postgres, with its sandboxes run by the process backend and the FakeSandbox program.
/// </summary>
public sealed class ApiProcess : IAsyncDisposable
{
    public const string AdminKey = "ck_test_admin_key_0123456789";
    public const string AgentKey = "ck_test_agent_key_0123456789";

    /// <summary>The key the API signs sandbox tokens with, so a test can read a token a sandbox was given.</summary>
    public const string SandboxTokenKey = "test-sandbox-token-key-0123456789abcdef";

    /// <summary>A token a sandbox was given, verified with <see cref="SandboxTokenKey"/> (the assertion fails if it does not verify).</summary>
    public static SandboxToken ReadSandboxToken(string token)
    {
        Assert.True(SandboxToken.TryValidate(token, Encoding.UTF8.GetBytes(SandboxTokenKey), DateTimeOffset.UtcNow, out var valid), "the sandbox token verifies");
        return valid;
    }

    private readonly ServiceProcess _service;

    public ApiProcess(string connectionString, IReadOnlyDictionary<string, string>? settings = null)
    {
        SandboxRoot = Path.Combine(Path.GetTempPath(), $"centaur-test-sandboxes-{Guid.NewGuid():N}");
        ConnectionString = connectionString;
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__centaur"] = connectionString,
            ["Centaur__SandboxTokenKey"] = SandboxTokenKey,
            ["Centaur__LeaseSeconds"] = "3",
            ["Auth__BootstrapClients__tests-admin"] = AdminKey,
            ["Auth__BootstrapScopes__tests-admin"] = "agent,admin",
            ["Auth__BootstrapClients__tests-agent"] = AgentKey,
            ["Sandbox__Backend"] = "process",
            ["Sandbox__ReconcileIntervalSeconds"] = "3600",
            ["Sandbox__Process__Command"] = ServiceProcess.DotnetPath(),
            ["Sandbox__Process__Args__0"] = RepositoryPaths.Output("tests/Centaur.FakeSandbox", "Centaur.FakeSandbox.dll"),
            ["Sandbox__Process__WorkRoot"] = SandboxRoot,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        _service = new ServiceProcess("src/Centaur.Api", "Centaur.Api.dll", environment, IsReadyAsync);
        // The port is chosen by the service process; the dictionary is read when it starts.
        environment.TryAdd("Centaur__PublicUrl", BaseAddress.ToString().TrimEnd('/'));
    }

    public int Port => _service.Port;

    public string ConnectionString { get; }

    public Uri BaseAddress => _service.BaseAddress;

    public string SandboxRoot { get; }

    public int? ProcessId => _service.ProcessId;

    public string RecentLog => _service.RecentLog;

    public Task StartAsync(CancellationToken cancellationToken) => _service.StartAsync(cancellationToken);

    /// <summary>Bootstrap keys are registered right after the migrations, after /health first answers: wait until ours works.</summary>
    private async Task<bool> IsReadyAsync(HttpClient http, CancellationToken cancellationToken)
    {
        using var health = await http.GetAsync("/health", cancellationToken);
        if (health.StatusCode != HttpStatusCode.OK)
        {
            return false;
        }

        using var probe = new HttpRequestMessage(HttpMethod.Get, "/agent/threads?limit=1");
        probe.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AgentKey);
        using var threads = await http.SendAsync(probe, cancellationToken);
        return threads.IsSuccessStatusCode;
    }

    /// <summary>SIGKILL, like a crashed host: no shutdown code runs. Its sandboxes see their stdin close.</summary>
    public void Kill() => _service.Kill(entireProcessTree: false);

    public HttpClient CreateClient(string? apiKey = AgentKey)
    {
        var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        if (apiKey is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        return http;
    }

    public async ValueTask DisposeAsync()
    {
        await _service.DisposeAsync();
        try
        {
            Directory.Delete(SandboxRoot, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // nothing was spawned
        }
    }
}
