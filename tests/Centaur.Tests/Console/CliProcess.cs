using System.Collections.Concurrent;
using System.Diagnostics;
using Centaur.Tests.Infrastructure;

namespace Centaur.Tests.Clients;

/// <summary>The real <c>centaur</c> CLI as a child process: stdin to type into, stdout and stderr collected line by line.</summary>
public sealed class CliProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _stdout = new();
    private readonly ConcurrentQueue<string> _stderr = new();
    private readonly SemaphoreSlim _changed = new(0, int.MaxValue);

    private CliProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Collect(_stdout, e.Data);
        _process.ErrorDataReceived += (_, e) => Collect(_stderr, e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public static CliProcess Start(ApiProcess api, string apiKey, params string[] args)
    {
        var start = new ProcessStartInfo(ServiceProcess.DotnetPath())
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = System.Text.Encoding.UTF8,
            StandardErrorEncoding = System.Text.Encoding.UTF8,
        };
        start.ArgumentList.Add(RepositoryPaths.Output("src/Centaur.Cli", "centaur.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["CENTAUR_API_URL"] = api.BaseAddress.ToString();
        start.Environment["CENTAUR_API_KEY"] = apiKey;
        start.Environment["NO_COLOR"] = "1";
        start.Environment["USER"] = "alice";
        return new CliProcess(Process.Start(start)!);
    }

    public int ProcessId => _process.Id;

    public string Stdout => string.Join('\n', _stdout);

    public string Stderr => string.Join('\n', _stderr);

    public IReadOnlyList<string> StdoutLines => [.. _stdout];

    public async Task TypeAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>Ctrl-D: no more input.</summary>
    public void CloseInput() => _process.StandardInput.Close();

    /// <summary>Ctrl-C, as a terminal delivers it.</summary>
    public async Task InterruptAsync()
    {
        using var kill = Process.Start("kill", ["-INT", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        await kill.WaitForExitAsync();
    }

    /// <summary>Waits until the collected output satisfies <paramref name="condition"/>; fails with the output so far.</summary>
    public async Task WaitForAsync(Func<CliProcess, bool> condition, TimeSpan timeout, string what)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (!condition(this))
        {
            if (_process.HasExited && !condition(this))
            {
                // drain what the process wrote last
                await Task.Delay(200);
                if (condition(this))
                {
                    return;
                }

                Assert.Fail($"the CLI exited ({_process.ExitCode}) before {what}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}");
            }

            try
            {
                await _changed.WaitAsync(TimeSpan.FromMilliseconds(200), cts.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"timed out waiting for {what}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}");
            }
        }
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            Assert.Fail($"the CLI did not exit within {timeout}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}");
        }

        _process.WaitForExit(); // flushes the redirected streams
        return _process.ExitCode;
    }

    private void Collect(ConcurrentQueue<string> lines, string? line)
    {
        if (line is not null)
        {
            lines.Enqueue(line);
            _changed.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        _changed.Dispose();
    }
}
