using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Options;

namespace Centaur.Api.Sandboxes.Local;

/// <summary>
/// The local backend: one bubblewrap sandbox per thread on this machine, its main process Centaur.Sandbox with the
/// NDJSON wire on stdin/stdout. A thread's $HOME (clone, harness sessions) lives in threads/&lt;hash&gt;/home and
/// survives its sandboxes; a warm sandbox starts on an empty pool folder that becomes the thread's home when it is
/// assigned (the bind mount follows the folder, so a rename is enough).
/// </summary>
internal sealed class LocalSandboxBackend : ISandboxBackend, IAsyncDisposable
{
    private static readonly IReadOnlySet<string> s_started = new HashSet<string> { SandboxWireMessages.Started, SandboxWireMessages.Error };
    private static readonly IReadOnlySet<string> s_ready = new HashSet<string> { SandboxWireMessages.Ready, SandboxWireMessages.Error };

    private readonly LocalSandboxOptions _options;
    private readonly Auth.SandboxTokenIssuer _tokens;
    private readonly ApiSocketForwarder _apiForwarder;
    private readonly TimeProvider _time;
    private readonly ILogger<LocalSandboxBackend> _logger;
    private readonly ConcurrentDictionary<string, LocalSandbox> _sandboxes = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _homes = new(1, 1);

    private readonly ISandboxPrompts? _prompts;

    public LocalSandboxBackend(IOptions<LocalSandboxOptions> options, Auth.SandboxTokenIssuer tokens, ApiSocketForwarder apiForwarder, TimeProvider time, ILogger<LocalSandboxBackend> logger,
        ISandboxPrompts? prompts = null)
    {
        _prompts = prompts;
        _options = options.Value;
        _tokens = tokens;
        _apiForwarder = apiForwarder;
        _time = time;
        _logger = logger;
        Bubblewrap = BubblewrapInfo.Find(_options.BubblewrapPath);
        Limits = ResourceLimits.Detect(_options);
        StateDirectory = ResolveStateDirectory(_options);
        RuntimeDirectory = ResolveRuntimeDirectory(_options);
        Directory.CreateDirectory(StateDirectory);
        EtcDirectory = SandboxCommand.WriteEtc(Path.Combine(StateDirectory, "run"));
        ReapLeftovers();
        if (Bubblewrap is null)
        {
            LocalSandboxLog.Unisolated(_logger);
        }

        LocalSandboxLog.Configured(_logger, Isolation, Limits.Describe());
    }

    public string Name => "local";

    public BubblewrapInfo? Bubblewrap { get; }

    public ResourceLimits Limits { get; }

    public string StateDirectory { get; }

    public string RuntimeDirectory { get; }

    /// <summary>The sandboxes' /etc (read-only inside).</summary>
    public string EtcDirectory { get; }

    public string Isolation => Bubblewrap is { } b ? $"bubblewrap {b.Version} (user, pid, ipc, uts, net namespaces)" : "none (unisolated processes)";

    public int LiveCount => _sandboxes.Values.Count(s => !s.HasExited);

    public async Task<SandboxInfo> StartAsync(SandboxSpec spec, CancellationToken cancellationToken)
    {
        ValidateId(spec.SandboxId);
        var launching = Stopwatch.StartNew();
        if (_sandboxes.ContainsKey(spec.SandboxId))
        {
            throw new SandboxStartException($"sandbox {spec.SandboxId} already exists", code: "sandbox_exists");
        }

        string home;
        await _homes.WaitAsync(cancellationToken);
        try
        {
            if (spec.ThreadKey is { } threadKey)
            {
                EnsureNoLiveSandbox(threadKey);
                home = ThreadHome(threadKey);
            }
            else
            {
                home = PoolHome(spec.SandboxId);
                if (Directory.Exists(home))
                {
                    Directory.Delete(home, recursive: true);
                }
            }

            Directory.CreateDirectory(home);
        }
        finally
        {
            _homes.Release();
        }

        await WaitForEgressAsync(cancellationToken);
        var sandbox = Launch(spec, home);
        sandbox.ThreadKey = spec.ThreadKey;
        _sandboxes[spec.SandboxId] = sandbox;
        LocalSandboxLog.Launched(_logger, spec.SandboxId, launching.Elapsed.TotalMilliseconds);
        try
        {
            var stopwatch = Stopwatch.StartNew();
            if (spec.ThreadKey is { } thread)
            {
                // A thread's setup goes out right behind the launch, not after sandbox.started: the runtime reads it
                // once it runs, so the host's part (home, a local clone, prompt layers, token) overlaps its start.
                await SendSetupAsync(sandbox, await PrepareSetupAsync(sandbox, SandboxWireMessages.SetupLine(spec, thread), cancellationToken), cancellationToken);
            }

            var started = await sandbox.WaitForAsync(s_started, TimeSpan.FromSeconds(_options.StartTimeoutSeconds), cancellationToken);
            ThrowIfError(started);
            LocalSandboxLog.Started(_logger, spec.SandboxId, sandbox.Pid, spec.ThreadKey ?? "(warm pool)");
            if (spec.ThreadKey is null)
            {
                // A warm sandbox is ready to be claimed: its runtime runs and waits for the thread's setup.
                sandbox.IsReady = true;
                return sandbox.Info;
            }

            return await WaitForReadyAsync(sandbox, stopwatch, cancellationToken);
        }
        catch
        {
            await StopAsync(spec.SandboxId, CancellationToken.None);
            throw;
        }
    }

    public async Task<SandboxInfo> AssignAsync(string sandboxId, SandboxSpec spec, CancellationToken cancellationToken)
    {
        var threadKey = spec.ThreadKey ?? throw new SandboxStartException("assigning a sandbox needs a thread key", code: "bad_spec");
        var sandbox = Find(sandboxId);
        var stopwatch = Stopwatch.StartNew();
        var setup = await PrepareSetupAsync(sandbox, SandboxWireMessages.SetupLine(spec, threadKey), cancellationToken);
        await SendSetupAsync(sandbox, setup, cancellationToken);
        return await WaitForReadyAsync(sandbox, stopwatch, cancellationToken);
    }

    /// <summary>
    /// The host side of a setup line (from <see cref="AssignAsync"/>, a cold start, or the control plane's own warm
    /// claim over the wire): a warm sandbox takes over the thread's persisted home, a local repo is cloned into it,
    /// and the line is completed with prompt layers, skills, the turn timeout and a token.
    /// </summary>
    internal async Task<System.Text.Json.Nodes.JsonObject> PrepareSetupAsync(LocalSandbox sandbox, System.Text.Json.Nodes.JsonObject line, CancellationToken cancellationToken)
    {
        var threadKey = SandboxWireMessages.GetString(line, "thread_key")
            ?? throw new SandboxStartException("a setup line needs thread_key", code: "bad_setup");
        await _homes.WaitAsync(cancellationToken);
        try
        {
            if (sandbox.ThreadKey is null)
            {
                EnsureNoLiveSandbox(threadKey, sandbox.Id);
                sandbox.Home = AdoptThreadHome(sandbox.Home, threadKey);
                sandbox.ThreadKey = threadKey;
            }
            else if (sandbox.ThreadKey != threadKey)
            {
                throw new SandboxStartException($"sandbox {sandbox.Id} already belongs to another thread", code: "already_assigned");
            }
        }
        finally
        {
            _homes.Release();
        }

        await CloneLocalRepoAsync(SandboxWireMessages.GetString(line, "repo"), sandbox.Home, cancellationToken);
        var overlaySkills = _options.OverlayDirectory is { Length: > 0 } overlay && Directory.Exists(Path.Combine(overlay, "skills"))
            ? [Bubblewrap is null ? Path.Combine(overlay, "skills") : SandboxCommand.OverlayMount + "/skills"]
            : Array.Empty<string>();
        return SandboxWireMessages.Complete(line, IssueToken(sandbox), PromptLayers(SandboxWireMessages.GetString(line, "persona")), overlaySkills, TimeSpan.FromSeconds(_options.TurnTimeoutSeconds));
    }

    /// <summary>A fresh token for the sandbox's thread; null while unassigned or without Centaur:SandboxTokenKey.</summary>
    internal string? IssueToken(LocalSandbox sandbox) =>
        sandbox.ThreadKey is { } thread && _tokens.IsConfigured ? _tokens.Issue(thread, sandbox.Id) : null;

    public Task<ISandboxWire> AttachAsync(string sandboxId, CancellationToken cancellationToken) =>
        _sandboxes.TryGetValue(sandboxId, out var sandbox) && !sandbox.HasExited
            ? Task.FromResult<ISandboxWire>(sandbox.Attach(this))
            : throw new SandboxGoneException(sandboxId);

    public Task<SandboxInfo?> GetAsync(string sandboxId, CancellationToken cancellationToken) =>
        Task.FromResult(_sandboxes.TryGetValue(sandboxId, out var sandbox) ? sandbox.Info : null);

    public Task<IReadOnlyList<SandboxInfo>> ListAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<SandboxInfo>>([.. _sandboxes.Values.Select(s => s.Info)]);

    public async Task StopAsync(string sandboxId, CancellationToken cancellationToken)
    {
        if (!_sandboxes.TryRemove(sandboxId, out var sandbox))
        {
            return;
        }

        await sandbox.StopAsync();
        if (sandbox.ThreadKey is null && Directory.Exists(sandbox.Home))
        {
            Directory.Delete(sandbox.Home, recursive: true);
        }
    }

    /// <summary>Kills a sandbox without a goodbye (tests: a crash mid-turn). The reconcile loop then sees it exited.</summary>
    internal void Kill(string sandboxId) => Find(sandboxId).Kill();

    /// <summary>Host folder that is $HOME for the thread (tests inspect it).</summary>
    internal string ThreadHome(string threadKey) => Path.Combine(StateDirectory, "threads", Threads.ThreadKey.Hash(threadKey), "home");

    /// <summary>
    /// The proxy makes its socket and CA when it starts, which may be after the API (the AppHost starts the proxy once
    /// the API has migrated the policy tables): a sandbox launched before would fail to bind them, so wait a while.
    /// </summary>
    private async Task WaitForEgressAsync(CancellationToken cancellationToken)
    {
        string[] required = [.. new[] { _options.EgressSocket, _options.ProxyCaFile }.OfType<string>().Where(p => p.Length > 0)];
        var deadline = _time.GetUtcNow().AddSeconds(_options.StartTimeoutSeconds);
        while (required.FirstOrDefault(p => !File.Exists(p)) is { } missing)
        {
            if (_time.GetUtcNow() > deadline)
            {
                throw new SandboxStartException($"the egress proxy's {Path.GetFileName(missing)} is not there yet ({missing}); is Centaur.IronProxy running?", code: "egress_unavailable");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), _time, cancellationToken);
        }
    }

    private LocalSandbox Launch(SandboxSpec spec, string home)
    {
        var paths = new SandboxCommand.Paths(
            RuntimeDirectory,
            _options.HarnessDirectory,
            EtcDirectory,
            _apiForwarder.EnsureListening(Path.Combine(StateDirectory, "run", "api.sock")),
            _options.EgressSocket is { Length: > 0 } egress ? egress : null,
            _options.ProxyCaFile is { Length: > 0 } ca ? ca : null,
            _options.OverlayDirectory is { Length: > 0 } overlay && Directory.Exists(overlay) ? overlay : null,
            Path.Combine(StateDirectory, "run", spec.SandboxId));

        if (Bubblewrap is { } bwrap)
        {
            var limits = Limits.Prepare(spec.SandboxId);
            List<string> command = [.. limits.Prefix, .. SandboxCommand.Bubblewrap(bwrap.Path, spec.SandboxId, home, paths)];
            var env = SandboxCommand.IsolatedEnvironment(spec.SandboxId, _options, paths, spec.Environment);

            // bwrap --clearenv empties the sandbox's environment; the variables travel as --setenv instead. The
            // launcher itself keeps only what it needs (PATH, the cgroup files to join).
            var clear = command.IndexOf("--clearenv");
            command.InsertRange(clear + 1, env.SelectMany(kv => new[] { "--setenv", kv.Key, kv.Value }));
            var launcherEnv = new Dictionary<string, string>(limits.Environment) { ["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin" };
            try
            {
                return LocalSandbox.Start(spec.SandboxId, home, command, launcherEnv, limits, _time.GetUtcNow(), _logger);
            }
            catch
            {
                limits.Cleanup();
                throw;
            }
        }

        Directory.CreateDirectory(paths.RuntimeTempDirectory);
        var unisolated = SandboxCommand.UnisolatedEnvironment(spec.SandboxId, home, _options, paths, spec.Environment);
        return LocalSandbox.Start(spec.SandboxId, home, [Path.Combine(RuntimeDirectory, SandboxCommand.RuntimeBinary)], unisolated, SandboxLimits.None, _time.GetUtcNow(), _logger);
    }

    private static async Task SendSetupAsync(LocalSandbox sandbox, System.Text.Json.Nodes.JsonObject setup, CancellationToken cancellationToken)
    {
        try
        {
            await sandbox.SendAsync(setup, cancellationToken);
        }
        catch (IOException)
        {
            // The sandbox is already gone: waiting for its answer reports how it ended (exit code, stderr).
        }
    }

    private async Task<SandboxInfo> WaitForReadyAsync(LocalSandbox sandbox, Stopwatch stopwatch, CancellationToken cancellationToken)
    {
        var ready = await sandbox.WaitForAsync(s_ready, TimeSpan.FromSeconds(_options.SetupTimeoutSeconds), cancellationToken);
        ThrowIfError(ready);
        sandbox.IsReady = true;
        LocalSandboxLog.Ready(_logger, sandbox.Id, sandbox.ThreadKey ?? "?", stopwatch.ElapsedMilliseconds);
        return sandbox.Info;
    }

    /// <summary>Base prompt, then the org overlay's AGENTS.md, then the persona's file; an unknown persona is an error.</summary>
    private List<(string Name, string Text)> PromptLayers(string? persona)
    {
        List<(string, string)> layers = [("base", File.ReadAllText(Path.Combine(RuntimeDirectory, "Content", "AGENTS.base.md")))];
        if (_prompts is not null)
        {
            // In the API: the org prompt, the persona's prompt and the generated Tools section, from the overlay catalog.
            layers.AddRange(_prompts.LayersFor(persona));
            return layers;
        }

        var overlay = _options.OverlayDirectory is { Length: > 0 } o && Directory.Exists(o) ? o : null;
        if (overlay is not null && File.Exists(Path.Combine(overlay, "AGENTS.md")))
        {
            layers.Add(("org", File.ReadAllText(Path.Combine(overlay, "AGENTS.md"))));
        }

        if (persona is not null)
        {
            var file = overlay is null || persona.Any(c => !char.IsAsciiLetterOrDigit(c) && c is not '-' and not '_')
                ? null
                : Path.Combine(overlay, "personas", persona + ".md");
            if (file is null || !File.Exists(file))
            {
                throw new SandboxStartException($"no persona '{persona}' in the overlay (personas/<name>.md)", code: "unknown_persona");
            }

            layers.Add(($"persona:{persona}", File.ReadAllText(file)));
        }

        return layers;
    }

    /// <summary>
    /// A repo given as a folder on this machine is not visible inside the sandbox, so it is cloned here, into the
    /// thread's workspace, before the setup (URLs are cloned inside, through the proxy). --no-hardlinks: the sandbox
    /// must not share object files with the original.
    /// </summary>
    private static async Task CloneLocalRepoAsync(string? repo, string home, CancellationToken cancellationToken)
    {
        var workspace = Path.Combine(home, "workspace");
        if (repo is null || !Path.IsPathFullyQualified(repo) || !Directory.Exists(repo) || Directory.Exists(Path.Combine(workspace, ".git")))
        {
            return;
        }

        var info = new ProcessStartInfo("git") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in new[] { "clone", "--quiet", "--no-hardlinks", repo, workspace })
        {
            info.ArgumentList.Add(argument);
        }

        using var git = System.Diagnostics.Process.Start(info) ?? throw new SandboxStartException("could not start git", code: "clone_failed");
        var stderr = git.StandardError.ReadToEndAsync(cancellationToken);
        await git.WaitForExitAsync(cancellationToken);
        if (git.ExitCode != 0)
        {
            throw new SandboxStartException($"git clone {repo} failed: {(await stderr).Trim()}", code: "clone_failed");
        }
    }

    /// <summary>
    /// The warm sandbox's (empty) home becomes the thread's: a returning thread's files move into it entry by entry
    /// (renames on one file system), then the folder takes the thread's place. The mount follows the folder.
    /// </summary>
    private string AdoptThreadHome(string poolHome, string threadKey)
    {
        var threadHome = ThreadHome(threadKey);
        if (Directory.Exists(threadHome))
        {
            foreach (var entry in Directory.EnumerateFileSystemEntries(threadHome))
            {
                var target = Path.Combine(poolHome, Path.GetFileName(entry));
                if (Directory.Exists(entry))
                {
                    if (Directory.Exists(target))
                    {
                        Directory.Delete(target, recursive: true);
                    }

                    Directory.Move(entry, target);
                }
                else
                {
                    File.Move(entry, target, overwrite: true);
                }
            }

            Directory.Delete(threadHome, recursive: true);
        }

        Directory.CreateDirectory(Path.GetDirectoryName(threadHome)!);
        Directory.Move(poolHome, threadHome);
        var poolFolder = Path.GetDirectoryName(poolHome)!;
        if (Directory.Exists(poolFolder) && !Directory.EnumerateFileSystemEntries(poolFolder).Any())
        {
            Directory.Delete(poolFolder);
        }

        return threadHome;
    }

    private void EnsureNoLiveSandbox(string threadKey, string? except = null)
    {
        if (_sandboxes.Values.FirstOrDefault(s => s.ThreadKey == threadKey && !s.HasExited && s.Id != except) is { } live)
        {
            throw new SandboxStartException($"thread already has a live sandbox ({live.Id})", code: "thread_has_sandbox");
        }
    }

    private LocalSandbox Find(string sandboxId) =>
        _sandboxes.TryGetValue(sandboxId, out var sandbox) ? sandbox : throw new SandboxStartException($"no sandbox {sandboxId}", code: "unknown_sandbox");

    private string PoolHome(string sandboxId) => Path.Combine(StateDirectory, "pool", sandboxId, "home");

    private static void ThrowIfError(System.Text.Json.Nodes.JsonObject line)
    {
        if (SandboxWireMessages.TypeOf(line) == SandboxWireMessages.Error)
        {
            throw new SandboxStartException(line["message"]?.GetValue<string>() ?? "the sandbox reported an error", code: line["code"]?.GetValue<string>() ?? "sandbox_error");
        }
    }

    private static void ValidateId(string sandboxId)
    {
        if (sandboxId.Length is 0 or > 64 || !sandboxId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            throw new SandboxStartException("sandbox ids are 1-64 letters, digits, '-' or '_'", code: "bad_sandbox_id");
        }
    }

    /// <summary>Sandboxes die with the API process (--die-with-parent); their warm folders and cgroups are stale.</summary>
    private void ReapLeftovers()
    {
        var pool = Path.Combine(StateDirectory, "pool");
        if (Directory.Exists(pool))
        {
            var stale = Directory.GetDirectories(pool);
            foreach (var folder in stale)
            {
                Directory.Delete(folder, recursive: true);
            }

            if (stale.Length > 0)
            {
                LocalSandboxLog.Reaped(_logger, stale.Length);
            }
        }

        (Limits as CgroupV1Limits)?.RemoveStale([]);
    }

    private static string ResolveStateDirectory(LocalSandboxOptions options)
    {
        if (options.StateDirectory is { Length: > 0 } configured)
        {
            return Path.GetFullPath(configured);
        }

        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return Path.Combine(Environment.GetEnvironmentVariable("XDG_STATE_HOME") is { Length: > 0 } xdg ? xdg : Path.Combine(home, ".local", "state"), "centaur", "sandboxes");
    }

    internal static string ResolveRuntimeDirectory(LocalSandboxOptions options) =>
        options.RuntimeDirectory is { Length: > 0 } configured ? Path.GetFullPath(configured) : Path.Combine(AppContext.BaseDirectory, "sandbox-runtime");

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_sandboxes.Keys.ToList().Select(id => StopAsync(id, CancellationToken.None)));
        _homes.Dispose();
    }
}

/// <summary>The bwrap binary and its version, or null when it is not installed.</summary>
internal sealed record BubblewrapInfo(string Path, string Version)
{
    public static BubblewrapInfo? Find(string configured)
    {
        var path = System.IO.Path.IsPathRooted(configured) ? (File.Exists(configured) ? configured : null) : ResourceLimits.Which(configured);
        if (path is null)
        {
            return null;
        }

        try
        {
            using var process = System.Diagnostics.Process.Start(new ProcessStartInfo(path, "--version") { RedirectStandardOutput = true, UseShellExecute = false });
            var version = process!.StandardOutput.ReadToEnd().Trim().Replace("bubblewrap ", "", StringComparison.Ordinal);
            process.WaitForExit(5000);
            return new BubblewrapInfo(path, version);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
