using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Centaur.Sandbox.Wire;
using Microsoft.Extensions.Logging;

namespace Centaur.Sandbox.Harnesses;

/// <summary>
/// A harness CLI as a child process speaking JSON lines on stdin/stdout. Every stdout line is parsed as JSON
/// (harnesses put keys in any order); anything else is a log line. stderr is kept (the tail explains a crash).
/// </summary>
internal sealed class HarnessProcess : IAsyncDisposable
{
    private const int StderrTailLines = 40;

    private readonly Process _process;
    private readonly ILogger _logger;
    private readonly Channel<JsonObject> _lines = Channel.CreateUnbounded<JsonObject>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Queue<string> _stderrTail = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Task _stdoutPump;
    private readonly Task _stderrPump;

    private HarnessProcess(Process process, ILogger logger)
    {
        _process = process;
        _logger = logger;
        _stdoutPump = PumpStdoutAsync();
        _stderrPump = PumpStderrAsync();
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Parsed stdout lines; completes when the process closes stdout.</summary>
    public ChannelReader<JsonObject> Lines => _lines.Reader;

    public static HarnessProcess Start(string fileName, IEnumerable<string> arguments, string workingDirectory, IReadOnlyDictionary<string, string?> environment, ILogger logger)
    {
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            if (value is null)
            {
                info.Environment.Remove(key);
            }
            else
            {
                info.Environment[key] = value;
            }
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {fileName}");
        process.StandardInput.AutoFlush = false;
        HarnessLog.ProcessStarted(logger, Path.GetFileName(fileName), process.Id);
        return new HarnessProcess(process, logger);
    }

    public async Task WriteAsync(JsonObject line, CancellationToken cancellationToken)
    {
        var text = line.ToJsonString(WireJson.Options);
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            await _process.StandardInput.WriteAsync(text.AsMemory(), cancellationToken);
            await _process.StandardInput.WriteAsync("\n".AsMemory(), cancellationToken);
            await _process.StandardInput.FlushAsync(cancellationToken);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>The next stdout line, or null when the process has closed stdout (exited).</summary>
    public async Task<JsonObject?> ReadAsync(CancellationToken cancellationToken)
    {
        while (await _lines.Reader.WaitToReadAsync(cancellationToken))
        {
            if (_lines.Reader.TryRead(out var line))
            {
                return line;
            }
        }

        return null;
    }

    /// <summary>Why the process is gone, for the turn's error result.</summary>
    public async Task<string> DescribeExitAsync()
    {
        await WaitForExitAsync(TimeSpan.FromSeconds(5));
        string tail;
        lock (_stderrTail)
        {
            tail = string.Join(" | ", _stderrTail.TakeLast(8));
        }

        var code = _process.HasExited ? _process.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture) : "?";
        return tail.Length == 0 ? $"exit code {code}" : $"exit code {code}: {tail}";
    }

    public async Task WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            // Still running; the caller decides whether to kill it.
        }
    }

    private async Task PumpStdoutAsync()
    {
        try
        {
            while (await _process.StandardOutput.ReadLineAsync() is { } text)
            {
                if (WireJson.TryParseObject(text) is { } line)
                {
                    _lines.Writer.TryWrite(line);
                }
                else if (text.Length > 0)
                {
                    // Some CLIs (Amp) print their fatal error on stdout as plain text: keep it for the error result.
                    HarnessLog.NonJsonOutput(_logger, text.Length > 300 ? text[..300] : text);
                    RememberOutput(text);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // The process went away; completion below tells the reader.
        }
        finally
        {
            _lines.Writer.TryComplete();
        }
    }

    private async Task PumpStderrAsync()
    {
        try
        {
            while (await _process.StandardError.ReadLineAsync() is { } text)
            {
                HarnessLog.Stderr(_logger, text.Length > 500 ? text[..500] : text);
                RememberOutput(text);
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // Same as stdout.
        }
    }

    private void RememberOutput(string text)
    {
        lock (_stderrTail)
        {
            _stderrTail.Enqueue(text.Length > 300 ? text[..300] : text);
            while (_stderrTail.Count > StderrTailLines)
            {
                _stderrTail.Dequeue();
            }
        }
    }

    /// <summary>Closes stdin (harnesses finish and exit on EOF), waits a moment, then kills what is left.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.StandardInput.Close();
        }
        catch (IOException)
        {
            // Already gone.
        }

        await WaitForExitAsync(TimeSpan.FromSeconds(3));
        if (!_process.HasExited)
        {
            try
            {
                _process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Exited in between.
            }

            await WaitForExitAsync(TimeSpan.FromSeconds(3));
        }

        await Task.WhenAll(_stdoutPump, _stderrPump).WaitAsync(TimeSpan.FromSeconds(3)).ContinueWith(_ => { }, TaskScheduler.Default);
        _process.Dispose();
        _writeLock.Dispose();
    }
}
