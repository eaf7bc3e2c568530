using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Centaur.Tests.Infrastructure;

namespace Centaur.Tests.Chaos;

/// <summary>
/// One of Centaur's services (Centaur.Slack, Centaur.IronProxy) run from its build output as an OS process of the
/// test's own, on a port that stays the same across restarts (its clients keep their configured address), so a
/// test can SIGKILL it mid-work and start it again. Ready when <c>GET /health</c> answers 200 and the optional
/// readiness check agrees.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromSeconds(60);
    private readonly string _assembly;
    private readonly IReadOnlyDictionary<string, string> _environment;
    private readonly Func<string, bool> _ready;
    private readonly ConcurrentQueue<string> _log = new();
    private Process? _process;

    public ServiceProcess(string project, string assembly, IReadOnlyDictionary<string, string> environment, Func<string, bool>? ready = null)
    {
        _assembly = RepositoryPaths.Output(project, assembly);
        Port = FreePort();
        BaseAddress = new Uri($"http://127.0.0.1:{Port}/");
        _environment = environment;
        _ready = ready ?? (_ => true);
    }

    public int Port { get; }

    public Uri BaseAddress { get; }

    public int? ProcessId => _process is { HasExited: false } process ? process.Id : null;

    public string RecentLog => string.Join('\n', _log);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(ApiProcess.DotnetPath())
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
        timeout.CancelAfter(s_startTimeout);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Path.GetFileName(_assembly)} exited with {_process.ExitCode}:\n{RecentLog}");
            }

            try
            {
                using var response = await http.GetAsync("/health", timeout.Token);
                if (response.StatusCode == HttpStatusCode.OK && _ready(await response.Content.ReadAsStringAsync(timeout.Token)))
                {
                    return;
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
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"{Path.GetFileName(_assembly)} was not ready within {s_startTimeout}:\n{RecentLog}");
            }

            await Task.Delay(100, timeout.Token);
        }
    }

    /// <summary>SIGKILL, like a crashed host: no shutdown code runs, nothing is flushed.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
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

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
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
    }
}
