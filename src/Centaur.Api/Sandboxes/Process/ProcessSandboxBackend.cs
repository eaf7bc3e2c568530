using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Options;

namespace Centaur.Api.Sandboxes.Process;

/// <summary>Settings of the unisolated process backend (section "Sandbox:Process").</summary>
internal sealed class ProcessSandboxOptions
{
    /// <summary>The sandbox program (default: Centaur.Sandbox next to the API).</summary>
    public string? Command { get; set; }

    public List<string> Args { get; set; } = [];

    /// <summary>Where each sandbox's HOME lives; per thread, so harness sessions survive a sandbox restart.</summary>
    public string? WorkRoot { get; set; }
}

/// <summary>
/// Runs each sandbox as a plain child process, WITHOUT isolation: for development machines and the control plane's
/// own tests. It is only used when configured explicitly (Sandbox:Backend=process). The child speaks the NDJSON wire
/// on stdin/stdout, signals readiness by creating $HOME/.ready, and exits when its stdin closes, so a crashed API
/// leaves nothing running.
/// </summary>
internal sealed partial class ProcessSandboxBackend(
    IOptions<ProcessSandboxOptions> options, IOptions<SandboxOptions> sandboxOptions, TimeProvider time, ILogger<ProcessSandboxBackend> logger)
    : ISandboxBackend, IDisposable
{
    private readonly ConcurrentDictionary<string, Child> _children = new(StringComparer.Ordinal);

    public string Name => "process";

    public async Task<SandboxInfo> StartAsync(SandboxSpec spec, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var root = settings.WorkRoot ?? Path.Combine(Path.GetTempPath(), "centaur-sandboxes");
        var home = Path.Combine(root, spec.ThreadKey is null ? $"pool-{spec.SandboxId}" : Threads.ThreadKey.Hash(spec.ThreadKey), "home");
        Directory.CreateDirectory(home);
        File.Delete(Path.Combine(home, ".ready"));

        var command = settings.Command ?? Path.Combine(AppContext.BaseDirectory, "centaur-sandbox");
        var start = new ProcessStartInfo(command)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = home,
        };
        foreach (var arg in settings.Args)
        {
            start.ArgumentList.Add(arg);
        }

        // Start from a clean environment: the API's own (connection strings, keys) must never reach a sandbox.
        start.Environment.Clear();
        start.Environment["PATH"] = "/usr/local/bin:/usr/bin:/bin";
        start.Environment["HOME"] = home;
        start.Environment["CENTAUR_SANDBOX_ID"] = spec.SandboxId;
        foreach (var (key, value) in spec.Environment)
        {
            start.Environment[key] = value;
        }

        var process = System.Diagnostics.Process.Start(start) ?? throw new InvalidOperationException($"could not start {command}");
        var child = new Child(spec.SandboxId, spec.ThreadKey, process, time.GetUtcNow());
        _children[spec.SandboxId] = child;
        _ = PumpStderrAsync(child);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(sandboxOptions.Value.StartTimeoutSeconds));
        while (!File.Exists(Path.Combine(home, ".ready")))
        {
            if (process.HasExited)
            {
                _children.TryRemove(spec.SandboxId, out _);
                throw new SandboxStartException($"sandbox {spec.SandboxId} exited with code {process.ExitCode} before it was ready");
            }

            try
            {
                await Task.Delay(10, timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                await StopAsync(spec.SandboxId, CancellationToken.None);
                throw new SandboxStartException($"sandbox {spec.SandboxId} was not ready after {sandboxOptions.Value.StartTimeoutSeconds} s");
            }
        }

        return child.Info(SandboxState.Ready);
    }

    public Task<ISandboxWire> AttachAsync(string sandboxId, CancellationToken cancellationToken) =>
        _children.TryGetValue(sandboxId, out var child) && !child.Process.HasExited
            ? Task.FromResult<ISandboxWire>(new StreamSandboxWire(child.Process.StandardInput.BaseStream, child.Process.StandardOutput.BaseStream, ownsStreams: false))
            : throw new SandboxGoneException(sandboxId);

    public Task<SandboxInfo?> GetAsync(string sandboxId, CancellationToken cancellationToken) =>
        Task.FromResult(_children.TryGetValue(sandboxId, out var child)
            ? child.Info(child.Process.HasExited ? SandboxState.Exited : SandboxState.Ready)
            : null);

    public Task<IReadOnlyList<SandboxInfo>> ListAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<SandboxInfo>>(
            [.. _children.Values.Select(c => c.Info(c.Process.HasExited ? SandboxState.Exited : SandboxState.Ready))]);

    public async Task StopAsync(string sandboxId, CancellationToken cancellationToken)
    {
        if (!_children.TryRemove(sandboxId, out var child))
        {
            return;
        }

        try
        {
            child.Process.Kill(entireProcessTree: true);
            await child.Process.WaitForExitAsync(cancellationToken);
        }
        catch (InvalidOperationException)
        {
            // already gone
        }

        child.Process.Dispose();
    }

    public void Dispose()
    {
        foreach (var id in _children.Keys)
        {
            StopAsync(id, CancellationToken.None).GetAwaiter().GetResult();
        }
    }

    private async Task PumpStderrAsync(Child child)
    {
        try
        {
            while (await child.Process.StandardError.ReadLineAsync() is { } line)
            {
                LogSandboxStderr(logger, child.SandboxId, line);
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // the sandbox is gone; nothing more to read
        }
    }

    private sealed record Child(string SandboxId, string? ThreadKey, System.Diagnostics.Process Process, DateTimeOffset CreatedAt)
    {
        public SandboxInfo Info(SandboxState state) => new(SandboxId, state, ThreadKey, CreatedAt);
    }

    [LoggerMessage(1301, LogLevel.Debug, "sandbox {SandboxId}: {Line}")]
    private static partial void LogSandboxStderr(ILogger logger, string sandboxId, string line);
}
