using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Centaur.Tests.Fakes.FakeKubeApi;

/// <summary>
/// A fake Kubernetes API server on 127.0.0.1 (no cluster exists on these machines): pods create, get, list, watch,
/// merge-patch and delete with resourceVersion semantics, and pods/attach and pods/exec over WebSocket with the
/// v4/v5 channel protocols. Each pod's container is a real local process (see <see cref="FakeContainerRuntime"/>).
/// </summary>
internal sealed class FakeKubeApiServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly FakePodStore _store;
    private readonly FakeKubelet _kubelet;
    private readonly Lock _barrierLock = new();
    private int _patchConflicts;
    private ListBarrier? _barrier;
    private readonly List<V1Pod> _created = [];
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _lists = new(StringComparer.Ordinal);

    private FakeKubeApiServer(WebApplication app, FakePodStore store, FakeKubelet kubelet, FakeContainerRuntime runtime)
    {
        _app = app;
        _store = store;
        _kubelet = kubelet;
        Runtime = runtime;
    }

    public Uri Url { get; private set; } = null!;

    public FakeContainerRuntime Runtime { get; }

    /// <summary>Merge patches refused because their resourceVersion precondition was stale (lost claim races).</summary>
    public int PatchConflicts => Volatile.Read(ref _patchConflicts);

    public static async Task<FakeKubeApiServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        var runtime = new FakeContainerRuntime();
        var store = new FakePodStore(TimeProvider.System);
        var kubelet = new FakeKubelet(store, runtime, Path.Combine(Path.GetTempPath(), $"fake-kubelet-{Guid.NewGuid():N}"));
        var server = new FakeKubeApiServer(app, store, kubelet, runtime);
        server.Map();
        await app.StartAsync();
        server.Url = new Uri(app.Urls.First());
        return server;
    }

    /// <summary>A KubernetesClient pointed at this fake, offering v5 then v4 like the backend's own client.</summary>
    public k8s.Kubernetes CreateClient() =>
        Centaur.Api.Sandboxes.Kubernetes.PodStreamConnection.OfferV5(new k8s.Kubernetes(new KubernetesClientConfiguration { Host = Url.ToString() }));

    /// <summary>Writes a kubeconfig that points at this fake (a temp file the caller deletes), for processes that read one.</summary>
    public async Task<string> WriteKubeconfigAsync(CancellationToken cancellationToken)
    {
        var path = Path.Combine(Path.GetTempPath(), $"centaur-fake-kubeconfig-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(path, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: fake
              cluster:
                server: {Url}
            users:
            - name: fake
              user:
                token: fake-token
            contexts:
            - name: fake
              context:
                cluster: fake
                user: fake
            current-context: fake
            """, cancellationToken);
        return path;
    }

    public V1Pod? GetPod(string ns, string name) => _store.Get(ns, name);

    public IReadOnlyList<V1Pod> Pods(string ns) => _store.List(ns, _ => true).Items;

    public string HomeOf(string ns, string name) => _kubelet.Home(ns, name);

    /// <summary>Deletes a pod behind the backend's back, as `kubectl delete pod` or a node failure would.</summary>
    public Task DeletePodAsync(string ns, string name) => _kubelet.DeleteAsync(ns, name);

    /// <summary>
    /// Holds the next <paramref name="count"/> pod lists until all of them have arrived, so that that many clients
    /// see the same pods (with the same resourceVersions) before any of them acts: a deterministic race.
    /// </summary>
    /// <param name="labelSelector">Only lists with exactly this label selector are held (null: any list).</param>
    public void HoldLists(int count, string? labelSelector = null)
    {
        lock (_barrierLock)
        {
            _barrier = new ListBarrier(count, labelSelector);
        }
    }

    /// <summary>How many pod lists (not watches) asked for exactly this label selector.</summary>
    public int Lists(string labelSelector) => _lists.GetValueOrDefault(labelSelector);

    /// <summary>Every pod created through the API, in order, as it was submitted (name and labels).</summary>
    public IReadOnlyList<V1Pod> Created
    {
        get
        {
            lock (_created)
            {
                return [.. _created];
            }
        }
    }

    private void Map()
    {
        _app.UseWebSockets();

        _app.Use(async (context, next) =>
        {
            try
            {
                await next(context);
            }
            catch (FakeKubeException ex)
            {
                await WriteStatusAsync(context, ex.Status, ex.Reason, ex.Message);
            }
        });
        // Namespaces and ConfigMaps are only accepted (a smoke run creates them); pods are the fake's subject.
        _app.MapPost("/api/v1/namespaces", EchoCreatedAsync);
        _app.MapPost("/api/v1/namespaces/{ns}/configmaps", EchoCreatedAsync);
        const string Pods = "/api/v1/namespaces/{ns}/pods";
        _app.MapPost(Pods, CreateAsync);
        _app.MapGet(Pods, ListOrWatchAsync);
        _app.MapGet(Pods + "/{name}", (HttpContext context, string ns, string name) =>
            WriteAsync(context, _store.Get(ns, name) ?? throw new FakeKubeException(HttpStatusCode.NotFound, "NotFound", $"pods \"{name}\" not found")));
        _app.MapPatch(Pods + "/{name}", PatchAsync);
        _app.MapDelete(Pods + "/{name}", DeleteAsync);
        _app.MapGet(Pods + "/{name}/attach", AttachAsync);
        _app.MapGet(Pods + "/{name}/exec", ExecAsync);
    }

    private async Task CreateAsync(HttpContext context, string ns)
    {
        var pod = KubernetesJson.Deserialize<V1Pod>(await new StreamReader(context.Request.Body).ReadToEndAsync(context.RequestAborted));
        lock (_created)
        {
            _created.Add(KubernetesJson.Deserialize<V1Pod>(KubernetesJson.Serialize(pod)));
        }

        context.Response.StatusCode = StatusCodes.Status201Created;
        await WriteAsync(context, _store.Create(ns, pod));
    }

    private static async Task EchoCreatedAsync(HttpContext context)
    {
        var body = await new StreamReader(context.Request.Body).ReadToEndAsync(context.RequestAborted);
        context.Response.StatusCode = StatusCodes.Status201Created;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body, context.RequestAborted);
    }

    private async Task ListOrWatchAsync(HttpContext context, string ns)
    {
        var query = context.Request.Query;
        var labels = FakeLabelSelector.Parse(query["labelSelector"]);
        var name = ((string?)query["fieldSelector"])?.Split(',').Select(f => f.Split('=', 2)).FirstOrDefault(f => f[0] == "metadata.name")?[1];
        bool Filter(V1Pod pod) => labels.Matches(pod.Metadata.Labels) && (name is null || pod.Metadata.Name == name);

        if (query["watch"] is ["true"] or ["1"])
        {
            await WatchAsync(context, ns, long.TryParse(query["resourceVersion"], out var from) ? from : null, Filter,
                int.TryParse(query["timeoutSeconds"], out var seconds) ? TimeSpan.FromSeconds(seconds) : TimeSpan.FromMinutes(5));
            return;
        }

        ListBarrier? barrier;
        lock (_barrierLock)
        {
            barrier = _barrier;
        }

        _lists.AddOrUpdate((string?)query["labelSelector"] ?? "", 1, (_, n) => n + 1);
        var (items, version) = _store.List(ns, Filter);
        if (barrier is not null && barrier.Selects(query["labelSelector"]) && barrier.Join())
        {
            lock (_barrierLock)
            {
                if (ReferenceEquals(_barrier, barrier) && barrier.Full)
                {
                    _barrier = null;
                }
            }

            await barrier.WaitAsync();
        }

        await WriteAsync(context, new V1PodList
        {
            ApiVersion = "v1",
            Kind = "PodList",
            Metadata = new V1ListMeta { ResourceVersion = version.ToString(CultureInfo.InvariantCulture) },
            Items = [.. items],
        });
    }

    private async Task WatchAsync(HttpContext context, string ns, long? from, Func<V1Pod, bool> filter, TimeSpan timeout)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        stop.CancelAfter(timeout);
        context.Response.ContentType = "application/json";
        await context.Response.StartAsync(context.RequestAborted);
        try
        {
            await foreach (var change in _store.Watch(ns, from, filter, stop.Token).ReadAllAsync(stop.Token))
            {
                var line = change.Type == WatchEventType.Error
                    ? """{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version","reason":"Expired","code":410}}"""
                    : $$"""{"type":"{{change.Type.ToString().ToUpperInvariant()}}","object":{{KubernetesJson.Serialize(change.Pod)}}}""";
                await context.Response.WriteAsync(line + "\n", stop.Token);
                await context.Response.Body.FlushAsync(stop.Token);
            }
        }
        catch (OperationCanceledException)
        {
            // Timeout or the client went away: the watch simply ends, as the real one does.
        }
    }

    private async Task PatchAsync(HttpContext context, string ns, string name)
    {
        if (context.Request.ContentType?.StartsWith("application/merge-patch+json", StringComparison.Ordinal) != true
            && context.Request.ContentType?.StartsWith("application/strategic-merge-patch+json", StringComparison.Ordinal) != true)
        {
            throw new FakeKubeException(HttpStatusCode.UnsupportedMediaType, "UnsupportedMediaType", "this fake implements merge patches only");
        }

        var patch = JsonNode.Parse(await new StreamReader(context.Request.Body).ReadToEndAsync(context.RequestAborted))!.AsObject();
        try
        {
            await WriteAsync(context, _store.MergePatch(ns, name, patch));
        }
        catch (FakeKubeException ex) when (ex.Status == HttpStatusCode.Conflict)
        {
            Interlocked.Increment(ref _patchConflicts);
            throw;
        }
    }

    private async Task DeleteAsync(HttpContext context, string ns, string name)
    {
        var pod = _store.Get(ns, name) ?? throw new FakeKubeException(HttpStatusCode.NotFound, "NotFound", $"pods \"{name}\" not found");
        var deleting = _store.MarkDeleting(ns, name);
        _ = _kubelet.DeleteAsync(ns, name); // graceful termination continues after the answer, as in Kubernetes
        await WriteAsync(context, deleting ?? pod);
    }

    private async Task AttachAsync(HttpContext context, string ns, string name)
    {
        _ = _store.Get(ns, name) ?? throw new FakeKubeException(HttpStatusCode.NotFound, "NotFound", $"pods \"{name}\" not found");
        var container = _kubelet.Container(ns, name)
            ?? throw new FakeKubeException(HttpStatusCode.BadRequest, "BadRequest", $"container of pod {name} is not running");
        using var socket = await AcceptAsync(context);
        await FakeChannelSession.RunAsync(socket, container, ownsContainer: false, context.RequestAborted);
    }

    private async Task ExecAsync(HttpContext context, string ns, string name)
    {
        var pod = _store.Get(ns, name) ?? throw new FakeKubeException(HttpStatusCode.NotFound, "NotFound", $"pods \"{name}\" not found");
        if (_kubelet.Container(ns, name) is null)
        {
            throw new FakeKubeException(HttpStatusCode.BadRequest, "BadRequest", $"container of pod {name} is not running");
        }

        var command = context.Request.Query["command"].Select(c => c!).ToList();
        if (command.Count == 0)
        {
            throw new FakeKubeException(HttpStatusCode.BadRequest, "BadRequest", "you must specify at least 1 command");
        }

        using var socket = await AcceptAsync(context);
        var process = FakeContainer.Start(FakeContainerRuntime.Exec(pod, _kubelet.Home(ns, name), command), keepOutputForFirstSession: true);
        await FakeChannelSession.RunAsync(socket, process, ownsContainer: true, context.RequestAborted);
    }

    private static async Task<System.Net.WebSockets.WebSocket> AcceptAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            throw new FakeKubeException(HttpStatusCode.BadRequest, "BadRequest", "this fake speaks the WebSocket channel protocol only (no SPDY)");
        }

        var offered = context.WebSockets.WebSocketRequestedProtocols;
        var protocol = new[] { WebSocketProtocol.V5BinaryWebsocketProtocol, WebSocketProtocol.V4BinaryWebsocketProtocol }.FirstOrDefault(offered.Contains)
            ?? throw new FakeKubeException(HttpStatusCode.BadRequest, "BadRequest", $"no supported channel protocol among [{string.Join(", ", offered)}]");
        return await context.WebSockets.AcceptWebSocketAsync(protocol);
    }

    private static async Task WriteAsync(HttpContext context, object body)
    {
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(KubernetesJson.Serialize(body), Encoding.UTF8, context.RequestAborted);
    }

    private static async Task WriteStatusAsync(HttpContext context, HttpStatusCode status, string reason, string message)
    {
        // KubernetesClient reads V1Status but cannot write one, so the body is written by hand.
        context.Response.StatusCode = (int)status;
        context.Response.ContentType = "application/json";
        var body = new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Failure",
            ["message"] = message,
            ["reason"] = reason,
            ["code"] = (int)status,
        };
        await context.Response.WriteAsync(body.ToJsonString(), Encoding.UTF8, context.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        await _kubelet.DisposeAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private sealed class ListBarrier(int count, string? labelSelector)
    {
        public bool Selects(string? selector) => labelSelector is null || selector == labelSelector;

        private readonly TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _arrived;

        public bool Full => Volatile.Read(ref _arrived) >= count;

        public bool Join()
        {
            var arrived = Interlocked.Increment(ref _arrived);
            if (arrived == count)
            {
                _all.TrySetResult();
            }

            return arrived <= count;
        }

        public Task WaitAsync() => _all.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }
}
