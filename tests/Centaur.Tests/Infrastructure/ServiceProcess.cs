using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Centaur.Tests.Infrastructure;

/// <summary>
/// A program from this repository's build output run by a test as an OS process of its own (Centaur.Api,
/// Centaur.Slack, Centaur.IronProxy, the AppHost), on a port that stays the same across restarts (its clients keep
/// their configured address), so a test can SIGKILL or SIGTERM it and start it again. Ready when the readiness check
/// agrees: by default <c>GET /health</c> on its own port answers 200.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly string _assembly;
    private readonly IReadOnlyDictionary<string, string> _environment;
    private readonly Func<HttpClient, CancellationToken, Task<bool>> _ready;
    private readonly ConcurrentQueue<string> _log = new();
    private Process? _process;

    /// <param name="ready">When the started process counts as ready, asked with a client of its base address.</param>
    public ServiceProcess(string project, string assembly, IReadOnlyDictionary<string, string> environment, Func<HttpClient, CancellationToken, Task<bool>>? ready = null)
    {
        _assembly = RepositoryPaths.Output(project, assembly);
        Port = FreePort();
        BaseAddress = new Uri($"http://127.0.0.1:{Port}/");
        _environment = environment;
        _ready = ready ?? (async (http, ct) => (await http.GetAsync("/health", ct)).StatusCode == HttpStatusCode.OK);
    }

    /// <summary>A readiness check on the body of <c>/health</c> (200 only).</summary>
    public static Func<HttpClient, CancellationToken, Task<bool>> HealthSays(Func<string, bool> accept) => async (http, ct) =>
    {
        using var response = await http.GetAsync("/health", ct);
        return response.StatusCode == HttpStatusCode.OK && accept(await response.Content.ReadAsStringAsync(ct));
    };

    public int Port { get; }

    public Uri BaseAddress { get; }

    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public int? ProcessId => _process is { HasExited: false } process ? process.Id : null;

    public string RecentLog => string.Join('\n', _log);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(DotnetPath())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(_assembly)!,
        };
        start.ArgumentList.Add(_assembly);
        start.Environment["ASPNETCORE_URLS"] = BaseAddress.ToString().TrimEnd('/');
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["Logging__LogLevel__Centaur"] = "Information";
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
        timeout.CancelAfter(StartTimeout);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Path.GetFileName(_assembly)} exited with {_process.ExitCode}:\n{RecentLog}");
            }

            try
            {
                if (await _ready(http, timeout.Token))
                {
                    return;
                }

                await Task.Delay(100, timeout.Token);
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            catch (TaskCanceledException) when (!timeout.IsCancellationRequested)
            {
                // a slow start-up request
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"{Path.GetFileName(_assembly)} was not ready within {StartTimeout}:\n{RecentLog}");
            }
        }
    }

    /// <summary>SIGKILL, like a crashed host: no shutdown code runs, nothing is flushed.</summary>
    /// <param name="entireProcessTree">false leaves its children (e.g. sandboxes) to notice their parent is gone.</param>
    public void Kill(bool entireProcessTree = true)
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree);
            process.WaitForExit();
        }
    }

    /// <summary>
    /// A signal that asks for a clean stop: TERM (what systemd, Kubernetes and `kill` send) or INT (Ctrl-C in a
    /// terminal); the process shuts down by its own code. Returns its exit code.
    /// </summary>
    public async Task<int> TerminateAsync(TimeSpan timeout, string signal = "TERM")
    {
        var process = _process ?? throw new InvalidOperationException("not started");
        if (!process.HasExited)
        {
            using var kill = Process.Start("kill", [$"-{signal}", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync();
        }

        using var wait = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{Path.GetFileName(_assembly)} did not exit within {timeout} of SIG{signal}:\n{RecentLog}");
        }

        return process.ExitCode;
    }

    public HttpClient CreateClient() => new() { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

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

    /// <summary>A loopback port nobody listens on right now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The dotnet host running the tests (so children use the same runtime).</summary>
    public static string DotnetPath() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)
            ? host
            : new[] { "/usr/share/dotnet/dotnet", "/usr/lib/dotnet/dotnet", "/usr/bin/dotnet" }.First(File.Exists);

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        _process?.Dispose();
        _process = null;
    }
}
