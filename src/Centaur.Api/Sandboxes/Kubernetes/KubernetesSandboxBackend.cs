using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Options;

namespace Centaur.Api.Sandboxes.Kubernetes;

/// <summary>
/// A pod per thread. State lives in the cluster (labels and annotations), so a restarted API or a second replica
/// sees the same sandboxes. The NDJSON wire is the pod's main process reached through pods/attach.
/// </summary>
/// <remarks>
/// The per-thread layers (org overlay prompt, persona prompt, Tools section, overlay skills) travel in the setup line
/// rather than in the pod spec: a warm pod is made before its thread exists, a persona is chosen per thread, and a
/// reloaded overlay applies to the next setup without a new pod generation (a ConfigMap volume per overlay revision
/// would retire the whole pool on every overlay change and could still not carry the persona). The base prompt and
/// the kernel skills are in the sandbox image, next to the runtime that uses them.
/// </remarks>
internal sealed class KubernetesSandboxBackend(
    IKubernetes client, KubernetesWarmPool pool, IOptions<KubernetesSandboxOptions> options, TimeProvider time,
    ILogger<KubernetesSandboxBackend> logger, Auth.SandboxTokenIssuer? tokens = null, ISandboxPrompts? prompts = null)
    : ISandboxBackend, IWarmSandboxClaims
{
    /// <summary>Activity is recorded on the pod at most this often (one small patch), for capacity eviction.</summary>
    private static readonly TimeSpan TouchInterval = TimeSpan.FromSeconds(30);

    private readonly KubernetesSandboxOptions _options = options.Value;
    private readonly SandboxPodTemplate _template = new(options.Value);
    private readonly ConcurrentDictionary<string, int> _openWires = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _touched = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _addresses = new(StringComparer.Ordinal);

    public string Name => "kubernetes";

    /// <summary>
    /// Creates the thread's pod (making room at capacity, see <see cref="KubernetesSandboxOptions.MaxSandboxes"/>) and
    /// returns when it is Ready: its main process runs and the wire can be attached. Idempotent per sandbox id.
    /// </summary>
    public async Task<SandboxInfo> StartAsync(SandboxSpec spec, CancellationToken cancellationToken)
    {
        try
        {
            return await StartPodAsync(spec, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpOperationException or HttpRequestException)
        {
            throw new SandboxStartException($"the Kubernetes API refused or failed to create sandbox {spec.SandboxId}: {ex.Message}", ex);
        }
    }

    public int WarmCount => _options.WarmPoolSize > 0 ? pool.ReadyCount : 0;

    /// <summary>
    /// A pool pod, claimed atomically (see <see cref="KubernetesWarmPool"/>); its id is its pod name. A claim the
    /// Kubernetes API fails is no claim: the thread cold-starts, whose error (if the API is down) is the one to report.
    /// </summary>
    public async Task<SandboxInfo?> TryClaimWarmAsync(string threadKey, CancellationToken cancellationToken)
    {
        if (_options.WarmPoolSize <= 0)
        {
            return null;
        }

        try
        {
            return await pool.TryClaimAsync(threadKey, cancellationToken) is { } claimed ? Remember(claimed) : null;
        }
        catch (Exception ex) when (ex is HttpOperationException or HttpRequestException)
        {
            logger.WarmClaimFailed(ex);
            return null;
        }
    }

    private async Task<SandboxInfo> StartPodAsync(SandboxSpec spec, CancellationToken cancellationToken)
    {
        await EnsureCapacityAsync(cancellationToken);
        var name = SandboxLabels.PodName(spec.SandboxId);
        var pod = _template.Pod(name, spec.Environment, spec.ThreadKey, spec.SandboxId, time.GetUtcNow());
        var started = Stopwatch.GetTimestamp();
        try
        {
            pod = await client.CoreV1.CreateNamespacedPodAsync(pod, _options.Namespace, cancellationToken: cancellationToken);
            logger.PodCreated(name, SandboxPods.Label(pod, SandboxLabels.ThreadHash) ?? "none");
        }
        catch (HttpOperationException ex) when (SandboxPods.IsConflict(ex))
        {
            // A retry after a crash between create and answer: the same sandbox for the same thread is adopted.
            pod = await SandboxPods.ReadAsync(client, _options.Namespace, name, cancellationToken)
                ?? throw new SandboxStartException($"sandbox pod {name} exists and vanished while being read", ex);
            if (SandboxPods.ToInfo(pod).ThreadKey != spec.ThreadKey)
            {
                throw new SandboxStartException($"sandbox pod {name} already exists for another thread", ex);
            }
        }

        try
        {
            pod = await WaitReadyAsync(name, cancellationToken);
        }
        catch (Exception ex) when (ex is SandboxStartException or OperationCanceledException)
        {
            // Never leave a half-started pod behind: it would count against capacity and hold the thread's name.
            await DeleteFailedPodAsync(name);
            throw;
        }

        logger.PodReady(name, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        Remember(pod);
        if (spec.ThreadKey is { } threadKey)
        {
            // A thread's sandbox is returned with its workspace assembled (the ISandboxBackend contract), so the
            // control plane sends setup lines only after warm claims, as with the local backend.
            await SetupAsync(spec.SandboxId, name, SandboxWireMessages.SetupLine(spec, threadKey), cancellationToken);
        }

        return SandboxPods.ToInfo(pod);
    }

    /// <summary>Sends the completed setup line and waits for sandbox.ready; a failed setup deletes the pod.</summary>
    private async Task SetupAsync(string sandboxId, string name, JsonObject line, CancellationToken cancellationToken)
    {
        try
        {
            var (failure, code) = await RunSetupAsync(sandboxId, line, cancellationToken);
            if (failure is not null)
            {
                throw new SandboxStartException($"sandbox {sandboxId} failed its setup: {failure}", code: code);
            }
        }
        catch (Exception ex)
        {
            // Not the thread's sandbox yet: nothing else would ever delete it.
            logger.PodFailedToStart(name, ex.Message);
            await DeleteFailedPodAsync(name);
            throw;
        }
    }

    /// <summary>Deletes a pod whose start or setup failed; the start's own error matters more than a failed delete.</summary>
    private async Task DeleteFailedPodAsync(string name)
    {
        using var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await SandboxPods.DeleteAsync(client, _options.Namespace, name, cleanup.Token);
        }
        catch (Exception cleanupFailure) when (cleanupFailure is HttpOperationException or HttpRequestException or OperationCanceledException)
        {
            // The reconcile loop lists and reaps what is left (step E for a thread's pod).
            logger.PodFailedToStart(name, "and could not be deleted: " + cleanupFailure.Message);
        }
    }

    private async Task<(string? Failure, string Code)> RunSetupAsync(string sandboxId, JsonObject line, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_options.SetupTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await using var wire = await AttachAsync(sandboxId, linked.Token);
            await using var lines = wire.ReadAllAsync(linked.Token).GetAsyncEnumerator(linked.Token);
            await wire.SendAsync(line, linked.Token);
            while (await lines.MoveNextAsync())
            {
                // sandbox.started may come first: the pod turns Ready as its process starts, before the runtime speaks.
                switch (SandboxWireMessages.TypeOf(lines.Current))
                {
                    case SandboxWireMessages.Ready:
                        return (null, "");
                    case SandboxWireMessages.Error:
                        return (SandboxWireMessages.GetString(lines.Current, "message") ?? "the sandbox reported an error",
                            SandboxWireMessages.GetString(lines.Current, "code") ?? "sandbox_error");
                }
            }

            return ("the sandbox exited during setup", "sandbox_exited");
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return ($"setup did not finish within {_options.SetupTimeout.TotalSeconds:0} s", "setup_timeout");
        }
        catch (Exception ex) when (ex is IOException or SandboxGoneException)
        {
            return (ex.Message, "sandbox_gone");
        }
    }

    /// <summary>Keeps the pod's IP, for tokens that IronProxy accepts from that address only.</summary>
    private SandboxInfo Remember(V1Pod pod)
    {
        var info = SandboxPods.ToInfo(pod);
        if (pod.Status?.PodIP is { Length: > 0 } address)
        {
            _addresses[info.SandboxId] = address;
        }

        return info;
    }

    /// <summary>
    /// Every line on its way to the pod: setup lines are completed (<see cref="PrepareSetup"/>), and a sandbox token
    /// any line carries (a turn's fresh one) is issued again bound to the pod's IP.
    /// </summary>
    private JsonObject PrepareLine(string sandboxId, JsonObject line)
    {
        if (SandboxWireMessages.TypeOf(line) is SandboxWireMessages.Setup or SandboxWireMessages.SetupAlias)
        {
            return PrepareSetup(sandboxId, line);
        }

        if (SandboxWireMessages.GetString(line, "sandbox_token") is { } token && tokens is { IsConfigured: true }
            && _addresses.TryGetValue(sandboxId, out var address) && tokens.TryValidate(token, out var valid) && valid.Address is null)
        {
            line = (JsonObject)line.DeepClone();
            line["sandbox_token"] = tokens.Issue(valid.ThreadKey, valid.SandboxId, address);
        }

        return line;
    }

    /// <summary>
    /// Completes a setup line on its way to the pod (a cold start's, or the control plane's after a warm claim): the
    /// overlay's prompt layers for the line's persona, its skills, the turn timeout and a token bound to the pod's IP
    /// (replacing one the control plane put there, which knows no address).
    /// </summary>
    private JsonObject PrepareSetup(string sandboxId, JsonObject line)
    {
        var threadKey = SandboxWireMessages.GetString(line, "thread_key");
        var address = _addresses.GetValueOrDefault(sandboxId);
        var token = threadKey is not null && tokens is { IsConfigured: true } ? tokens.Issue(threadKey, sandboxId, address) : null;
        var layers = prompts?.LayersFor(SandboxWireMessages.GetString(line, "persona")) ?? [];
        var complete = SandboxWireMessages.Complete(line, token, layers, [], _options.TurnTimeout);
        if (token is not null && address is not null)
        {
            complete["sandbox_token"] = token; // Complete keeps a token the line has; the bound one replaces it
        }

        if (prompts?.Skills() is { Count: > 0 } skills)
        {
            complete["skills"] ??= new JsonArray([.. skills.Select(s => (JsonNode)new JsonObject
            {
                ["name"] = s.Name,
                ["files"] = new JsonArray([.. s.Files.Select(f => (JsonNode)new JsonObject { ["path"] = f.Path, ["content_base64"] = Convert.ToBase64String(f.Content) })]),
            })]);
        }

        return complete;
    }

    public async Task<ISandboxWire> AttachAsync(string sandboxId, CancellationToken cancellationToken)
    {
        var name = SandboxLabels.PodName(sandboxId);
        PodStreamConnection connection;
        try
        {
            connection = await PodStreamConnection.AttachAsync(client, _options.Namespace, name, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpOperationException or System.Net.WebSockets.WebSocketException or HttpRequestException)
        {
            // No pod (404) or no running container to attach to: to the control plane the sandbox is gone.
            throw await SandboxPods.ReadAsync(client, _options.Namespace, name, cancellationToken) is { } pod && !SandboxPods.IsGone(pod)
                ? new IOException($"cannot attach to sandbox {sandboxId}: {ex.Message}", ex)
                : new SandboxGoneException(sandboxId);
        }

        _openWires.AddOrUpdate(name, 1, (_, n) => n + 1);
        Touch(name, force: true);
        if (!_addresses.ContainsKey(sandboxId) && await SandboxPods.ReadAsync(client, _options.Namespace, name, cancellationToken) is { } attached)
        {
            Remember(attached);
        }

        return new KubernetesSandboxWire(connection, name, logger, line => PrepareLine(sandboxId, line), () => Touch(name, force: false), () =>
        {
            _openWires.AddOrUpdate(name, 0, (_, n) => Math.Max(0, n - 1));
            Touch(name, force: true);
            return ValueTask.CompletedTask;
        });
    }

    public Task<SandboxInfo?> GetAsync(string sandboxId, CancellationToken cancellationToken) => ApiCallAsync(async () =>
        await SandboxPods.ReadAsync(client, _options.Namespace, SandboxLabels.PodName(sandboxId), cancellationToken) is { } pod
            ? SandboxPods.ToInfo(pod)
            : null);

    /// <summary>Assigned sandboxes only: warm pods belong to the pool until claimed.</summary>
    public Task<IReadOnlyList<SandboxInfo>> ListAsync(CancellationToken cancellationToken) => ApiCallAsync(async () =>
    {
        var list = await client.CoreV1.ListNamespacedPodAsync(_options.Namespace, labelSelector: SandboxLabels.AssignedPods, cancellationToken: cancellationToken);
        return (IReadOnlyList<SandboxInfo>)[.. list.Items.Select(SandboxPods.ToInfo)];
    });

    public Task StopAsync(string sandboxId, CancellationToken cancellationToken) => ApiCallAsync(async () =>
    {
        _addresses.TryRemove(sandboxId, out _);
        var name = SandboxLabels.PodName(sandboxId);
        if (await SandboxPods.DeleteAsync(client, _options.Namespace, name, cancellationToken))
        {
            logger.PodDeleted(name);
        }

        _touched.TryRemove(name, out _);
        return true;
    });

    /// <summary>Kubernetes API failures reach the control plane as IOException, which its loops already retry.</summary>
    private static async Task<T> ApiCallAsync<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (Exception ex) when (ex is HttpOperationException or HttpRequestException)
        {
            throw new IOException($"Kubernetes API: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Whether the sandbox assembled its workspace (~/.ready exists), asked inside the pod over pods/exec. Useful after
    /// an API restart to tell a set-up sandbox from one that still needs its sandbox.setup line.
    /// </summary>
    public async Task<bool> IsWorkspaceReadyAsync(string sandboxId, CancellationToken cancellationToken)
    {
        PodStreamConnection exec;
        try
        {
            exec = await PodStreamConnection.ExecAsync(client, _options.Namespace, SandboxLabels.PodName(sandboxId),
                ["sh", "-c", "test -f \"$HOME/.ready\""], cancellationToken);
        }
        catch (Exception ex) when (ex is HttpOperationException or System.Net.WebSockets.WebSocketException or HttpRequestException)
        {
            throw new IOException($"cannot exec in sandbox {sandboxId}: {ex.Message}", ex);
        }

        await using (exec)
        {
            var status = await exec.Status.WaitAsync(cancellationToken);
            return PodStreamConnection.ExitCode(status) == 0;
        }
    }

    private async Task<V1Pod> WaitReadyAsync(string name, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_options.ReadyTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        V1Pod? last = null;
        try
        {
            while (true)
            {
                last = await SandboxPods.ReadAsync(client, _options.Namespace, name, linked.Token)
                    ?? throw new SandboxStartException($"sandbox pod {name} was deleted while starting");
                if (Check(last) is { } ready)
                {
                    return ready;
                }

                // Watch from the version just read, so no change between the read and the watch is missed.
                var events = client.CoreV1.WatchListNamespacedPodAsync(_options.Namespace,
                    fieldSelector: $"metadata.name={name}", resourceVersion: last.Metadata.ResourceVersion,
                    timeoutSeconds: (int)Math.Ceiling(_options.ReadyTimeout.TotalSeconds), cancellationToken: linked.Token);
                await foreach (var (type, pod) in events)
                {
                    last = pod;
                    if (type == WatchEventType.Deleted)
                    {
                        throw new SandboxStartException($"sandbox pod {name} was deleted while starting");
                    }

                    if (Check(pod) is { } watched)
                    {
                        return watched;
                    }
                }
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            var reason = last is null ? "no status yet" : SandboxPods.Describe(last);
            logger.PodFailedToStart(name, reason);
            throw new SandboxStartException($"sandbox pod {name} was not ready after {_options.ReadyTimeout.TotalSeconds:0} s: {reason}");
        }

        V1Pod? Check(V1Pod pod)
        {
            if (SandboxPods.IsGone(pod))
            {
                var reason = SandboxPods.Describe(pod);
                logger.PodFailedToStart(name, reason);
                throw new SandboxStartException($"sandbox pod {name} ended before it was ready: {reason}");
            }

            return SandboxPods.IsReady(pod) ? pod : null;
        }
    }

    /// <summary>
    /// At the limit, the oldest idle pod goes: warm pods first (idle by definition), then assigned pods with no wire
    /// open in this process and no activity for <see cref="KubernetesSandboxOptions.IdleGrace"/>.
    /// </summary>
    private async Task EnsureCapacityAsync(CancellationToken cancellationToken)
    {
        if (_options.MaxSandboxes <= 0)
        {
            return;
        }

        var pods = (await SandboxPods.ListAsync(client, _options.Namespace, SandboxLabels.AllSandboxes, cancellationToken)).ToList();
        var now = time.GetUtcNow();
        while (pods.Count >= _options.MaxSandboxes)
        {
            var victim = pods
                .Where(p => SandboxPods.Label(p, SandboxLabels.Pool) == SandboxLabels.Warm)
                .OrderBy(p => p.Metadata.CreationTimestamp)
                .Select(p => (Pod: p, Kind: "warm"))
                .Concat(pods
                    .Where(p => SandboxPods.Label(p, SandboxLabels.Pool) == SandboxLabels.Assigned
                        && _openWires.GetValueOrDefault(p.Metadata.Name) == 0
                        && now - (SandboxPods.Annotation(p, SandboxLabels.LastActiveAnnotation) ?? DateTimeOffset.MinValue) >= _options.IdleGrace)
                    .OrderBy(p => SandboxPods.Annotation(p, SandboxLabels.LastActiveAnnotation) ?? DateTimeOffset.MinValue)
                    .Select(p => (Pod: p, Kind: "idle")))
                .FirstOrDefault();
            if (victim.Pod is null)
            {
                throw new SandboxStartException(
                    $"sandbox capacity reached: {pods.Count} of {_options.MaxSandboxes} pods in use and none idle for {_options.IdleGrace.TotalMinutes:0} min");
            }

            await SandboxPods.DeleteAsync(client, _options.Namespace, victim.Pod.Metadata.Name, cancellationToken);
            logger.Evicted(pods.Count, _options.MaxSandboxes, victim.Pod.Metadata.Name, victim.Kind);
            pods.Remove(victim.Pod);
        }
    }

    /// <summary>Records activity on the pod (an annotation) in the background; capacity eviction reads it.</summary>
    private void Touch(string name, bool force)
    {
        var now = time.GetUtcNow();
        if (!force && _touched.TryGetValue(name, out var last) && now - last < TouchInterval)
        {
            return;
        }

        _touched[name] = now;
        var patch = new JsonObject { ["metadata"] = new JsonObject { ["annotations"] = new JsonObject { [SandboxLabels.LastActiveAnnotation] = now.ToString("O") } } };
        _ = Task.Run(async () =>
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await client.CoreV1.PatchNamespacedPodAsync(new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch), name, _options.Namespace, cancellationToken: timeout.Token);
            }
            catch (Exception ex) when (ex is HttpOperationException or HttpRequestException or OperationCanceledException)
            {
                logger.TouchFailed(ex, name);
            }
        });
    }
}
