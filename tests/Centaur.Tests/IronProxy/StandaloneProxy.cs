using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Centaur.Tests.Infrastructure;

namespace Centaur.Tests.IronProxy;

/// <summary>
/// A second Centaur.IronProxy process, started from the same build the AppHost runs, over the fixture's database:
/// lets a test kill and restart a proxy without touching the one the other tests use.
/// </summary>
internal sealed class StandaloneProxy : IAsyncDisposable
{
    private readonly Process _process;
    private string? _ownedCaDirectory;

    private StandaloneProxy(Process process, int port)
    {
        _process = process;
        Url = new Uri($"http://127.0.0.1:{port}/");
    }

    public Uri Url { get; }

    /// <summary>The proxy's CA certificate as a client trusts it (set by <see cref="StartWithOwnCaAsync"/>).</summary>
    public string CaFile { get; private set; } = "";

    /// <summary>A proxy with a CA of its own in a temporary folder (deleted on dispose), its certificate in <see cref="CaFile"/>.</summary>
    public static async Task<StandaloneProxy> StartWithOwnCaAsync(
        IronProxyFixture fixture, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? settings = null)
    {
        var caDirectory = Path.Combine(Path.GetTempPath(), $"centaur-proxy-ca-{Guid.NewGuid():N}");
        var proxy = await StartAsync(fixture, caDirectory, cancellationToken, settings);
        proxy._ownedCaDirectory = caDirectory;
        proxy.CaFile = Path.Combine(caDirectory, "client-copy.pem");
        using var http = new HttpClient { BaseAddress = proxy.Url };
        await File.WriteAllTextAsync(proxy.CaFile, await http.GetStringAsync("/ca.pem", cancellationToken), cancellationToken);
        return proxy;
    }

    public static async Task<StandaloneProxy> StartAsync(
        IronProxyFixture fixture, string caDirectory, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? settings = null)
    {
        var port = ServiceProcess.FreePort();
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetDirectoryName(ProxyAssembly())! };
        start.ArgumentList.Add(ProxyAssembly());
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{port}");
        start.Environment["ConnectionStrings__centaur"] = await fixture.App.GetConnectionStringAsync("postgres", cancellationToken);
        start.Environment["Centaur__SandboxTokenKey"] = IronProxyFixture.TokenKey;
        start.Environment["Secrets__anthropic-api-key"] = IronProxyFixture.AnthropicKey;
        start.Environment["IronProxy__CaDirectory"] = caDirectory;
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (name, value) in settings ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var proxy = new StandaloneProxy(process, port);
        using var http = new HttpClient { BaseAddress = proxy.Url, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (true)
        {
            try
            {
                if (await http.GetStringAsync("/health", cancellationToken) is var health && health.Contains("policy version", StringComparison.Ordinal))
                {
                    return proxy;
                }
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                // still starting
            }

            await Task.Delay(200, cancellationToken);
        }
    }

    /// <summary>-x URL with the token as userinfo, as a sandbox's HTTPS_PROXY carries it.</summary>
    public string ProxyArgument(string token) => IronProxyFixture.ProxyArgument(Url, token);

    /// <summary>Asks for a clean stop (SIGTERM, what Kubernetes sends) and returns the exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var wait = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(wait.Token);
        return _process.ExitCode;
    }

    /// <summary>Ends the process abruptly: a crash is the harder restart to survive.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        if (_ownedCaDirectory is not null && Directory.Exists(_ownedCaDirectory))
        {
            Directory.Delete(_ownedCaDirectory, recursive: true);
        }
    }

    private static string ProxyAssembly()
    {
        // tests/Centaur.Tests/bin/<configuration>/net10.0 → src/Centaur.IronProxy/bin/<configuration>/net10.0
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = testOutput.Parent!.Name;
        var root = testOutput.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
        return Path.Combine(root, "src", "Centaur.IronProxy", "bin", configuration, testOutput.Name, "Centaur.IronProxy.dll");
    }

}
