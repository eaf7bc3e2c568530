using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace Centaur.Api.Sandboxes.Local;

/// <summary>
/// One running sandbox: the launcher process (cgroup join → bwrap → Centaur.Sandbox) with its stdin/stdout as the
/// NDJSON wire. stdout is parsed line by line into a bounded channel (a reader that falls behind slows the sandbox
/// down rather than growing memory); stderr is the runtime's log.
/// </summary>
internal sealed class LocalSandbox
{
    private const int StderrTailLines = 30;

    private readonly System.Diagnostics.Process _process;
    private readonly SandboxLimits _limits;
    private readonly ILogger _logger;
    private readonly Channel<JsonObject> _output = Channel.CreateBounded<JsonObject>(new BoundedChannelOptions(4096) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly Queue<string> _stderrTail = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private LocalSandboxWire? _wire;

    private LocalSandbox(string id, string home, System.Diagnostics.Process process, SandboxLimits limits, DateTimeOffset createdAt, ILogger logger)
    {
        Id = id;
        Home = home;
        _process = process;
        _limits = limits;
        CreatedAt = createdAt;
        _logger = logger;
        Exited = Task.WhenAll(PumpStdoutAsync(), PumpStderrAsync(), process.WaitForExitAsync()).ContinueWith(_ => OnExited(), TaskScheduler.Default);
    }

    public string Id { get; }

    /// <summary>The host folder mounted as $HOME (a pool folder until the sandbox is assigned to a thread).</summary>
    public string Home { get; set; }

    public string? ThreadKey { get; set; }

    public string? HarnessSessionId { get; set; }

    public DateTimeOffset CreatedAt { get; }

    public bool IsReady { get; set; }

    public int Pid => _process.Id;

    public Task Exited { get; }

    /// <summary>Gone as soon as its stdout closed (the wire's end), even if the exit bookkeeping is still running.</summary>
    public bool HasExited => Exited.IsCompleted || _output.Reader.Completion.IsCompleted || ProcessHasExited();

    public ChannelReader<JsonObject> Output => _output.Reader;

    public SandboxInfo Info => new(Id, HasExited ? SandboxState.Exited : IsReady ? SandboxState.Ready : SandboxState.Starting, ThreadKey, CreatedAt)
    {
        HarnessSessionId = HarnessSessionId,
    };

    public static LocalSandbox Start(string id, string home, IReadOnlyList<string> command, IReadOnlyDictionary<string, string> environment, SandboxLimits limits, DateTimeOffset now, ILogger logger)
    {
        var info = new ProcessStartInfo(command[0])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = "/",
        };
        foreach (var argument in command.Skip(1))
        {
            info.ArgumentList.Add(argument);
        }

        // Nothing of the API's own environment (its connection string, keys) may reach a sandbox.
        info.Environment.Clear();
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var process = System.Diagnostics.Process.Start(info) ?? throw new SandboxStartException($"could not start {command[0]}", code: "spawn_failed");
        return new LocalSandbox(id, home, process, limits, now, logger);
    }

    public async Task SendAsync(JsonObject line, CancellationToken cancellationToken)
    {
        var text = line.ToJsonString();
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            if (HasExited)
            {
                throw new IOException($"sandbox {Id} has exited");
            }

            await _process.StandardInput.WriteAsync(text.AsMemory(), cancellationToken);
            await _process.StandardInput.WriteAsync("\n".AsMemory(), cancellationToken);
            await _process.StandardInput.FlushAsync(cancellationToken);
        }
        catch (ObjectDisposedException ex)
        {
            throw new IOException($"sandbox {Id} closed its input", ex);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Reads lines until one of <paramref name="types"/> arrives (earlier lines are not for anyone yet).</summary>
    public async Task<JsonObject> WaitForAsync(IReadOnlySet<string> types, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await foreach (var line in _output.Reader.ReadAllAsync(cts.Token))
            {
                if (SandboxWireMessages.TypeOf(line) is { } type && types.Contains(type))
                {
                    return line;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new SandboxStartException($"sandbox {Id} did not answer {string.Join("/", types)} within {timeout.TotalSeconds:0} s{StderrSummary()}", code: "sandbox_timeout");
        }

        await Exited.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ContinueWith(_ => { }, TaskScheduler.Default);
        throw new SandboxStartException($"sandbox {Id} exited (code {ExitCode}) before {string.Join("/", types)}{StderrSummary()}", code: "sandbox_exited");
    }

    /// <summary>A new wire replaces the previous one (its reader ends), so a restarted worker can re-attach.</summary>
    public LocalSandboxWire Attach(LocalSandboxBackend backend)
    {
        var wire = new LocalSandboxWire(this, backend);
        Interlocked.Exchange(ref _wire, wire)?.Detach();
        return wire;
    }

    /// <summary>Closes stdin (the runtime stops its harness and exits), then kills whatever is left.</summary>
    public async Task StopAsync()
    {
        try
        {
            await _writeLock.WaitAsync(TimeSpan.FromSeconds(5));
            _process.StandardInput.Close();
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or ObjectDisposedException)
        {
            // Already gone.
        }

        await Exited.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { }, TaskScheduler.Default);
        if (!HasExited)
        {
            try
            {
                _process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Exited in between.
            }

            await Exited.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    /// <summary>SIGKILL for the whole sandbox (tests use it to simulate a crash mid-turn).</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    public int? ExitCode => ProcessHasExited() ? _process.ExitCode : null;

    private bool ProcessHasExited()
    {
        try
        {
            return _process.HasExited;
        }
        catch (InvalidOperationException)
        {
            return true;
        }
    }

    public string StderrSummary()
    {
        lock (_stderrTail)
        {
            return _stderrTail.Count == 0 ? "" : ": " + string.Join(" | ", _stderrTail.TakeLast(6));
        }
    }

    private async Task PumpStdoutAsync()
    {
        try
        {
            while (await _process.StandardOutput.ReadLineAsync() is { } text)
            {
                JsonObject? line = null;
                try
                {
                    line = JsonNode.Parse(text) as JsonObject;
                }
                catch (JsonException)
                {
                    // Reported below.
                }

                if (line is null)
                {
                    LocalSandboxLog.BadLine(_logger, Id);
                    continue;
                }

                if (SandboxWireMessages.TypeOf(line) == SandboxWireMessages.Ready && line["session_id"] is JsonValue session && session.TryGetValue<string>(out var sid))
                {
                    HarnessSessionId = sid;
                }

                await _output.Writer.WriteAsync(line);
            }
        }
        catch (IOException)
        {
            // The process is gone.
        }
        finally
        {
            _output.Writer.TryComplete();
        }
    }

    private async Task PumpStderrAsync()
    {
        try
        {
            while (await _process.StandardError.ReadLineAsync() is { } text)
            {
                LocalSandboxLog.Stderr(_logger, Id, text.Length > 1000 ? text[..1000] : text);
                lock (_stderrTail)
                {
                    _stderrTail.Enqueue(text.Length > 300 ? text[..300] : text);
                    if (_stderrTail.Count > StderrTailLines)
                    {
                        _stderrTail.Dequeue();
                    }
                }
            }
        }
        catch (IOException)
        {
            // Same.
        }
    }

    private void OnExited()
    {
        LocalSandboxLog.Exited(_logger, Id, _process.ExitCode);
        _limits.Cleanup();
    }
}
