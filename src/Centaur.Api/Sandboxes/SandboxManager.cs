using System.Collections.Concurrent;
using Centaur.Api.Auth;
using Microsoft.Extensions.Options;

namespace Centaur.Api.Sandboxes;

/// <summary>
/// get_or_spawn: 1) the thread's live sandbox if its session is reusable; 2) else a warm one from the pool (the
/// backend's cluster pool when it has one, see <see cref="SandboxPool"/>); 3) else
/// a cold start, stopping the oldest idle sandbox first when at capacity. In-memory state is only a cache of live
/// wires: after an API restart it is rebuilt lazily from sandbox_sessions.
/// </summary>
internal sealed partial class SandboxManager(
    ISandboxBackend backend, SandboxSessionStore sessions, SandboxPool pool, SandboxTokenIssuer tokens,
    IOptions<SandboxOptions> options, IOptions<CentaurOptions> centaur, IConfiguration configuration,
    ILogger<SandboxManager> logger) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, SandboxConnection> _connections = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _capacity = new(1, 1);

    public string BackendName => backend.Name;

    public async Task<SandboxConnection> GetOrSpawnAsync(string threadKey, Func<string, Task> status, CancellationToken cancellationToken)
    {
        var session = await sessions.GetAsync(threadKey, cancellationToken)
            ?? throw new InvalidOperationException($"thread {threadKey} has no session");

        // 1) reuse: same sandbox, same assignment generation, wire still open
        if (_connections.TryGetValue(threadKey, out var live))
        {
            if (!live.IsClosed && live.SandboxId == session.SandboxId && live.Generation == session.AssignmentGeneration)
            {
                return live;
            }

            await DropAsync(threadKey, live, stop: true);
        }

        if (session.SandboxId is { } existing && session.State is "ready" or "running")
        {
            if (session.SandboxGeneration == session.AssignmentGeneration
                && await backend.GetAsync(existing, cancellationToken) is { State: SandboxState.Ready })
            {
                var attached = new SandboxConnection(threadKey, existing, session.AssignmentGeneration,
                    await backend.AttachAsync(existing, cancellationToken));
                _connections[threadKey] = attached;
                return attached;
            }

            // re-pinned (new harness/persona/repo) or vanished: it cannot be reused
            await backend.StopAsync(existing, cancellationToken);
            await sessions.MarkGoneAsync(threadKey, existing, "suspended", cancellationToken);
        }

        await sessions.SetStateAsync(threadKey, "spawning", cancellationToken);
        SandboxInfo started;
        var warm = await pool.TryClaimAsync(threadKey, cancellationToken);
        if (warm is not null)
        {
            await status("claimed a warm sandbox");
            started = warm;
        }
        else
        {
            await status("spawning sandbox");
            await EnsureCapacityAsync(threadKey, cancellationToken);
            var sandboxId = NewSandboxId();
            started = await backend.StartAsync(BuildSpec(sandboxId, session), cancellationToken);
        }

        SandboxConnection? connection = null;
        try
        {
            connection = new SandboxConnection(threadKey, started.SandboxId, session.AssignmentGeneration,
                await backend.AttachAsync(started.SandboxId, cancellationToken));
            if (warm is not null)
            {
                // Per-thread setup goes over the wire after a warm claim, so a claim never forces a cold start.
                await connection.Wire.SendAsync(SetupLine(started.SandboxId, session), cancellationToken);
            }
        }
        catch
        {
            // Not bound yet, so nothing else would ever stop it (a claimed pool pod is no longer the pool's either).
            if (connection is not null)
            {
                await connection.DisposeAsync();
            }

            await backend.StopAsync(started.SandboxId, CancellationToken.None);
            throw;
        }

        await sessions.BindAsync(threadKey, started.SandboxId, session.AssignmentGeneration, cancellationToken);
        _connections[threadKey] = connection;
        LogSandboxBound(logger, started.SandboxId, threadKey, backend.Name);
        return connection;
    }

    /// <summary>The wire closed under a turn: forget the sandbox (the inflight turn stays for replay).</summary>
    public async Task MarkDeadAsync(string threadKey, string sandboxId, CancellationToken cancellationToken)
    {
        if (_connections.TryGetValue(threadKey, out var live) && live.SandboxId == sandboxId)
        {
            await DropAsync(threadKey, live, stop: true);
        }
        else
        {
            await backend.StopAsync(sandboxId, cancellationToken);
        }

        await sessions.MarkGoneAsync(threadKey, sandboxId, "suspended", cancellationToken);
    }

    /// <summary>Stops the thread's sandbox (idle TTL, capacity eviction, operator request).</summary>
    public async Task StopAsync(string threadKey, string sandboxId, string state, CancellationToken cancellationToken)
    {
        if (_connections.TryGetValue(threadKey, out var live) && live.SandboxId == sandboxId)
        {
            await DropAsync(threadKey, live, stop: false);
        }

        await backend.StopAsync(sandboxId, cancellationToken);
        await sessions.MarkGoneAsync(threadKey, sandboxId, state, cancellationToken);
    }

    public bool HasLiveWire(string threadKey) => _connections.TryGetValue(threadKey, out var c) && !c.IsClosed;

    internal SandboxSpec BuildSpec(string sandboxId, SessionRow? session)
    {
        var env = ThreadlessEnvironment(centaur.Value, options.Value, configuration);
        env["CENTAUR_HARNESS"] = session?.Harness ?? options.Value.DefaultHarness;

        // No sandbox token here: an environment ends up in pod specs and process command lines (bwrap --setenv) where
        // others can read it. Tokens travel only over the wire, in sandbox.setup and in every turn.start.
        if (session is not null)
        {
            env["CENTAUR_THREAD_KEY"] = session.ThreadKey;
            env["CENTAUR_THREAD_HASH"] = Threads.ThreadKey.Hash(session.ThreadKey);
            AddIfSet(env, "CENTAUR_PERSONA", session.Persona);
            AddIfSet(env, "CENTAUR_REPO", session.Repo);
            AddIfSet(env, "CENTAUR_HARNESS_SESSION_ID", session.HarnessSessionId);
        }

        return new SandboxSpec(sandboxId, session?.ThreadKey, session?.Harness ?? options.Value.DefaultHarness,
            session?.Persona, session?.Repo, env);
    }

    /// <summary>
    /// The environment of a sandbox before it has a thread (a warm one): the same for every sandbox of this API, so
    /// a backend that keeps its own pool (Kubernetes) gives its pool pods exactly this.
    /// </summary>
    internal static Dictionary<string, string> ThreadlessEnvironment(CentaurOptions centaur, SandboxOptions options, IConfiguration configuration)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["CENTAUR_API_URL"] = centaur.PublicUrl ?? configuration["ASPNETCORE_URLS"]?.Split(';')[0] ?? "http://127.0.0.1:5080",
            ["CENTAUR_HARNESS"] = options.DefaultHarness,
            // Placeholders only: IronProxy swaps them for the real keys on the wire, toward the bound host alone.
            ["ANTHROPIC_API_KEY"] = "centaur-placeholder:anthropic-api-key",
            ["OPENAI_API_KEY"] = "centaur-placeholder:openai-api-key",
        };
        if (configuration["IronProxy:Url"] is { Length: > 0 } proxy)
        {
            env["CENTAUR_PROXY_URL"] = proxy;
        }

        return env;
    }

    private System.Text.Json.Nodes.JsonObject SetupLine(string sandboxId, SessionRow session) => new()
    {
        ["type"] = SandboxWireMessages.Setup,
        ["thread_key"] = session.ThreadKey,
        ["thread_hash"] = Threads.ThreadKey.Hash(session.ThreadKey),
        ["harness"] = session.Harness,
        ["persona"] = session.Persona,
        ["repo"] = session.Repo,
        ["harness_session_id"] = session.HarnessSessionId,
        ["sandbox_token"] = tokens.Issue(session.ThreadKey, sandboxId),
    };

    private static void AddIfSet(Dictionary<string, string> env, string key, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            env[key] = value;
        }
    }

    /// <summary>At the sandbox limit, the oldest idle sandbox (no inflight turn) is stopped before a cold spawn.</summary>
    private async Task EnsureCapacityAsync(string forThread, CancellationToken cancellationToken)
    {
        await _capacity.WaitAsync(cancellationToken);
        try
        {
            var live = await sessions.ListLiveAsync(cancellationToken);
            // A cluster pool is not counted: the Kubernetes backend deletes warm pods first when it needs room.
            var excess = live.Count + (pool.Cluster is null ? pool.Count : 0) - options.Value.MaxSandboxes + 1;
            foreach (var idle in live.Where(s => s.InflightTurnId is null && s.ThreadKey != forThread).Take(Math.Max(0, excess)))
            {
                LogCapacityEviction(logger, idle.SandboxId!, idle.ThreadKey);
                SandboxMetrics.Evictions.Add(1);
                await StopAsync(idle.ThreadKey, idle.SandboxId!, "stopped", cancellationToken);
            }
        }
        finally
        {
            _capacity.Release();
        }
    }

    internal static string NewSandboxId() => "sbx-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));

    private async Task DropAsync(string threadKey, SandboxConnection connection, bool stop)
    {
        _connections.TryRemove(new KeyValuePair<string, SandboxConnection>(threadKey, connection));
        await connection.DisposeAsync();
        if (stop)
        {
            await backend.StopAsync(connection.SandboxId, CancellationToken.None);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (key, connection) in _connections)
        {
            await DropAsync(key, connection, stop: false);
        }

        _capacity.Dispose();
    }

    [LoggerMessage(1401, LogLevel.Information, "Sandbox {SandboxId} bound to thread {ThreadKey} ({Backend})")]
    private static partial void LogSandboxBound(ILogger logger, string sandboxId, string threadKey, string backend);

    [LoggerMessage(1402, LogLevel.Information, "At capacity: stopping idle sandbox {SandboxId} of thread {ThreadKey}")]
    private static partial void LogCapacityEviction(ILogger logger, string sandboxId, string threadKey);
}
