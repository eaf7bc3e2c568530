using System.Net;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using k8s;
using k8s.Models;

namespace Centaur.Tests.Fakes.FakeKubeApi;

/// <summary>
/// The fake API server's pods with Kubernetes' concurrency rules: one resourceVersion counter for every change,
/// optimistic preconditions on patches, and an event history that watches replay from a resourceVersion.
/// </summary>
internal sealed class FakePodStore(TimeProvider time)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(string Ns, string Name), V1Pod> _pods = [];
    private readonly List<WatchEvent> _history = [];
    private readonly List<Watcher> _watchers = [];
    private long _version;

    public event Action<V1Pod>? Created;

    public long Version
    {
        get
        {
            lock (_lock)
            {
                return _version;
            }
        }
    }

    public V1Pod Create(string ns, V1Pod pod)
    {
        V1Pod stored;
        lock (_lock)
        {
            var name = pod.Metadata?.Name ?? throw new FakeKubeException(HttpStatusCode.UnprocessableEntity, "Invalid", "metadata.name is required");
            if (_pods.ContainsKey((ns, name)))
            {
                throw new FakeKubeException(HttpStatusCode.Conflict, "AlreadyExists", $"pods \"{name}\" already exists");
            }

            stored = Clone(pod);
            stored.ApiVersion = "v1";
            stored.Kind = "Pod";
            stored.Metadata.NamespaceProperty = ns;
            stored.Metadata.Uid = Guid.NewGuid().ToString();
            stored.Metadata.CreationTimestamp = time.GetUtcNow().UtcDateTime;
            stored.Status = new V1PodStatus
            {
                Phase = "Pending",
                Conditions = [new V1PodCondition { Type = "PodScheduled", Status = "True" }],
            };
            Commit(ns, stored, WatchEventType.Added);
        }

        Created?.Invoke(Clone(stored));
        return Clone(stored);
    }

    public V1Pod? Get(string ns, string name)
    {
        lock (_lock)
        {
            return _pods.TryGetValue((ns, name), out var pod) ? Clone(pod) : null;
        }
    }

    public (IReadOnlyList<V1Pod> Items, long Version) List(string ns, Func<V1Pod, bool> filter)
    {
        lock (_lock)
        {
            return ([.. _pods.Where(p => p.Key.Ns == ns).Select(p => p.Value).Where(filter).OrderBy(p => p.Metadata.Name, StringComparer.Ordinal).Select(Clone)], _version);
        }
    }

    /// <summary>A JSON merge patch (RFC 7386); metadata.resourceVersion in the patch is a precondition, as in Kubernetes.</summary>
    public V1Pod MergePatch(string ns, string name, JsonObject patch)
    {
        lock (_lock)
        {
            var current = _pods.GetValueOrDefault((ns, name)) ?? throw NotFound(name);
            if (patch["metadata"]?["resourceVersion"]?.GetValue<string>() is { } expected && expected != current.Metadata.ResourceVersion)
            {
                throw new FakeKubeException(HttpStatusCode.Conflict, "Conflict",
                    $"Operation cannot be fulfilled on pods \"{name}\": the object has been modified; please apply your changes to the latest version and try again");
            }

            var document = JsonNode.Parse(KubernetesJson.Serialize(current))!.AsObject();
            Merge(document, patch);
            var patched = KubernetesJson.Deserialize<V1Pod>(document.ToJsonString());
            patched.Metadata.Uid = current.Metadata.Uid;
            patched.Metadata.CreationTimestamp = current.Metadata.CreationTimestamp;
            Commit(ns, patched, WatchEventType.Modified);
            return Clone(patched);
        }
    }

    /// <summary>What the kubelet reports; null when the pod is gone.</summary>
    public V1Pod? Update(string ns, string name, Action<V1Pod> change)
    {
        lock (_lock)
        {
            if (!_pods.TryGetValue((ns, name), out var current))
            {
                return null;
            }

            var updated = Clone(current);
            change(updated);
            Commit(ns, updated, WatchEventType.Modified);
            return Clone(updated);
        }
    }

    public V1Pod MarkDeleting(string ns, string name)
    {
        lock (_lock)
        {
            var current = _pods.GetValueOrDefault((ns, name)) ?? throw NotFound(name);
            if (current.Metadata.DeletionTimestamp is not null)
            {
                return Clone(current);
            }

            var deleting = Clone(current);
            deleting.Metadata.DeletionTimestamp = time.GetUtcNow().UtcDateTime;
            deleting.Metadata.DeletionGracePeriodSeconds = 0;
            Commit(ns, deleting, WatchEventType.Modified);
            return Clone(deleting);
        }
    }

    public void Remove(string ns, string name)
    {
        lock (_lock)
        {
            if (_pods.Remove((ns, name), out var pod))
            {
                _version++;
                pod.Metadata.ResourceVersion = _version.ToString(System.Globalization.CultureInfo.InvariantCulture);
                Publish(new WatchEvent(_version, ns, WatchEventType.Deleted, Clone(pod)));
            }
        }
    }

    /// <summary>
    /// Events after <paramref name="fromVersion"/> (replayed from history), then live ones. A version older than the
    /// history answers 410 Gone, as a compacted etcd would.
    /// </summary>
    public ChannelReader<WatchEvent> Watch(string ns, long? fromVersion, Func<V1Pod, bool> filter, CancellationToken cancellationToken)
    {
        var channel = Channel.CreateUnbounded<WatchEvent>();
        lock (_lock)
        {
            if (fromVersion is null or 0)
            {
                foreach (var pod in _pods.Where(p => p.Key.Ns == ns).Select(p => p.Value).Where(filter))
                {
                    channel.Writer.TryWrite(new WatchEvent(_version, ns, WatchEventType.Added, Clone(pod)));
                }
            }
            else if (_history.Count > 0 && fromVersion < _history[0].Version - 1)
            {
                channel.Writer.TryWrite(new WatchEvent(_version, ns, WatchEventType.Error, null));
                channel.Writer.TryComplete();
                return channel.Reader;
            }
            else
            {
                foreach (var change in _history.Where(e => e.Version > fromVersion && e.Namespace == ns && filter(e.Pod!)))
                {
                    channel.Writer.TryWrite(change);
                }
            }

            var watcher = new Watcher(ns, filter, channel.Writer);
            _watchers.Add(watcher);
            cancellationToken.Register(() =>
            {
                lock (_lock)
                {
                    _watchers.Remove(watcher);
                }

                channel.Writer.TryComplete();
            });
        }

        return channel.Reader;
    }

    private void Commit(string ns, V1Pod pod, WatchEventType type)
    {
        _version++;
        pod.Metadata.ResourceVersion = _version.ToString(System.Globalization.CultureInfo.InvariantCulture);
        _pods[(ns, pod.Metadata.Name)] = pod;
        Publish(new WatchEvent(_version, ns, type, Clone(pod)));
    }

    private void Publish(WatchEvent change)
    {
        _history.Add(change);
        if (_history.Count > 10_000)
        {
            _history.RemoveRange(0, 1_000);
        }

        foreach (var watcher in _watchers.Where(w => w.Namespace == change.Namespace && w.Filter(change.Pod!)))
        {
            watcher.Writer.TryWrite(change);
        }
    }

    private static void Merge(JsonObject target, JsonObject patch)
    {
        foreach (var (key, value) in patch)
        {
            if (value is null)
            {
                target.Remove(key);
            }
            else if (value is JsonObject child && target[key] is JsonObject existing)
            {
                Merge(existing, child);
            }
            else
            {
                target[key] = value.DeepClone();
            }
        }
    }

    private static FakeKubeException NotFound(string name) => new(HttpStatusCode.NotFound, "NotFound", $"pods \"{name}\" not found");

    public static V1Pod Clone(V1Pod pod) => KubernetesJson.Deserialize<V1Pod>(KubernetesJson.Serialize(pod));

    public sealed record WatchEvent(long Version, string Namespace, WatchEventType Type, V1Pod? Pod);

    private sealed record Watcher(string Namespace, Func<V1Pod, bool> Filter, ChannelWriter<WatchEvent> Writer);
}

internal sealed class FakeKubeException(HttpStatusCode status, string reason, string message) : Exception(message)
{
    public HttpStatusCode Status { get; } = status;

    public string Reason { get; } = reason;
}
