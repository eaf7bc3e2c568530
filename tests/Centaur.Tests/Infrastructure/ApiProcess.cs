using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;

namespace Centaur.Tests.Infrastructure;

/// <summary>
/// Centaur.Api started by the test as its own OS process (so a test can kill -9 it and start it again) against the
/// AppHost's real Postgres, with its sandboxes run by the process backend and the FakeSandbox program.
/// </summary>
public sealed class ApiProcess : IAsyncDisposable
{
    public const string AdminKey = "ck_test_admin_key_0123456789";
    public const string AgentKey = "ck_test_agent_key_0123456789";

    private readonly Dictionary<string, string> _environment;
    private readonly ConcurrentQueue<string> _log = new();
    private Process? _process;

    public ApiProcess(string connectionString, IReadOnlyDictionary<string, string>? settings = null)
    {
        Port = FreePort();
        BaseAddress = new Uri($"http://127.0.0.1:{Port}");
        SandboxRoot = Path.Combine(Path.GetTempPath(), $"centaur-test-sandboxes-{Guid.NewGuid():N}");
        _environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__centaur"] = connectionString,
            ["ASPNETCORE_URLS"] = BaseAddress.ToString().TrimEnd('/'),
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["Centaur__SandboxTokenKey"] = "test-sandbox-token-key-0123456789abcdef",
            ["Centaur__PublicUrl"] = BaseAddress.ToString().TrimEnd('/'),
            ["Centaur__LeaseSeconds"] = "3",
            ["Auth__BootstrapClients__tests-admin"] = AdminKey,
            ["Auth__BootstrapScopes__tests-admin"] = "agent,admin",
            ["Auth__BootstrapClients__tests-agent"] = AgentKey,
            ["Sandbox__Backend"] = "process",
            ["Sandbox__ReconcileIntervalSeconds"] = "3600",
            ["Sandbox__Process__Command"] = DotnetPath(),
            ["Sandbox__Process__Args__0"] = RepositoryPaths.Output("tests/Centaur.FakeSandbox", "Centaur.FakeSandbox.dll"),
            ["Sandbox__Process__WorkRoot"] = SandboxRoot,
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Centaur"] = "Information",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            _environment[key] = value;
        }
    }

    public int Port { get; }

    public string ConnectionString => _environment["ConnectionStrings__centaur"];

    public Uri BaseAddress { get; }

    public string SandboxRoot { get; }

    public int? ProcessId => _process?.Id;

    public string RecentLog => string.Join('\n', _log);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(DotnetPath())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(RepositoryPaths.Output("src/Centaur.Api", "Centaur.Api.dll"));
        foreach (var (key, value) in _environment)
        {
            start.Environment[key] = value;
        }

        _process?.Dispose();
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, e) => Remember(e.Data);
        _process.ErrorDataReceived += (_, e) => Remember(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"Centaur.Api exited with {_process.ExitCode}:\n{RecentLog}");
            }

            try
            {
                using var response = await http.GetAsync("/health", timeout.Token);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    // Bootstrap keys are registered right after the migrations; wait until ours works.
                    using var probe = CreateClient(AgentKey);
                    using var threads = await probe.GetAsync("/agent/threads?limit=1", timeout.Token);
                    if (threads.IsSuccessStatusCode)
                    {
                        return;
                    }
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            catch (TaskCanceledException) when (!timeout.IsCancellationRequested)
            {
                // a slow start-up request
            }

            await Task.Delay(100, timeout.Token);
        }
    }

    /// <summary>SIGKILL, like a crashed host: no shutdown code runs. Its sandboxes see their stdin close.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: false);
            process.WaitForExit();
        }
    }

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
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        _process?.Dispose();
        _process = null;
        try
        {
            Directory.Delete(SandboxRoot, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // nothing was spawned
        }
    }

    private void Remember(string? line)
    {
        if (line is null)
        {
            return;
        }

        _log.Enqueue(line);
        while (_log.Count > 400 && _log.TryDequeue(out _))
        {
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    internal static string DotnetPath() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)
            ? host
            : new[] { "/usr/share/dotnet/dotnet", "/usr/lib/dotnet/dotnet", "/usr/bin/dotnet" }.First(File.Exists);
}
