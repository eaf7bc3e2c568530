using System.Collections.Concurrent;
using k8s.Models;

namespace Centaur.Tests.Fakes.FakeKubeApi;

/// <summary>Runs each created pod's container as a local process and reports its state back to the store.</summary>
internal sealed class FakeKubelet : IAsyncDisposable
{
    private readonly FakePodStore _store;
    private readonly FakeContainerRuntime _runtime;
    private readonly string _root;
    private readonly ConcurrentDictionary<(string Ns, string Name), FakeContainer> _containers = new();
    private readonly ConcurrentBag<Task> _runs = [];

    public FakeKubelet(FakePodStore store, FakeContainerRuntime runtime, string root)
    {
        _store = store;
        _runtime = runtime;
        _root = root;
        store.Created += pod => _runs.Add(Task.Run(() => RunAsync(pod)));
    }

    public FakeContainer? Container(string ns, string name) => _containers.GetValueOrDefault((ns, name));

    public string Home(string ns, string name) => Path.Combine(_root, ns, name);

    public async Task DeleteAsync(string ns, string name)
    {
        _store.MarkDeleting(ns, name);
        if (_containers.TryRemove((ns, name), out var container))
        {
            container.Kill();
            await ((Task)container.Exited).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await container.DisposeAsync();
        }

        _store.Remove(ns, name);
    }

    private async Task RunAsync(V1Pod pod)
    {
        var (ns, name) = (pod.Metadata.NamespaceProperty, pod.Metadata.Name);
        await Task.Delay(_runtime.StartDelay);
        if (_store.Get(ns, name) is not { Metadata.DeletionTimestamp: null })
        {
            return;
        }

        var image = pod.Spec.Containers[0].Image;
        if (_runtime.FailingImages.Contains(image))
        {
            _store.Update(ns, name, p => p.Status.ContainerStatuses =
            [
                new V1ContainerStatus
                {
                    Name = p.Spec.Containers[0].Name, Image = image, ImageID = "", Ready = false, RestartCount = 0,
                    State = new V1ContainerState { Waiting = new V1ContainerStateWaiting { Reason = "ErrImagePull", Message = $"failed to pull image \"{image}\": not found" } },
                },
            ]);
            return;
        }

        var home = Home(ns, name);
        Directory.CreateDirectory(home);
        var container = FakeContainer.Start(_runtime.MainProcess(pod, home));
        _containers[(ns, name)] = container;
        var startedAt = DateTime.UtcNow;
        _store.Update(ns, name, p =>
        {
            p.Status.Phase = "Running";
            p.Status.PodIP = "127.0.0.1";
            p.Status.Conditions =
            [
                new V1PodCondition { Type = "PodScheduled", Status = "True" },
                new V1PodCondition { Type = "Initialized", Status = "True" },
                new V1PodCondition { Type = "ContainersReady", Status = "True" },
                new V1PodCondition { Type = "Ready", Status = "True" },
            ];
            p.Status.ContainerStatuses =
            [
                new V1ContainerStatus
                {
                    Name = p.Spec.Containers[0].Name, Image = image, ImageID = image, Ready = true, Started = true, RestartCount = 0,
                    State = new V1ContainerState { Running = new V1ContainerStateRunning { StartedAt = startedAt } },
                },
            ];
        });

        var exitCode = await container.Exited;
        _store.Update(ns, name, p =>
        {
            p.Status.Phase = exitCode == 0 ? "Succeeded" : "Failed";
            p.Status.Conditions = [.. p.Status.Conditions.Select(c => c.Type is "Ready" or "ContainersReady" ? new V1PodCondition { Type = c.Type, Status = "False" } : c)];
            p.Status.ContainerStatuses[0].Ready = false;
            p.Status.ContainerStatuses[0].State = new V1ContainerState
            {
                Terminated = new V1ContainerStateTerminated { ExitCode = exitCode, Reason = exitCode == 0 ? "Completed" : "Error", StartedAt = startedAt, FinishedAt = DateTime.UtcNow },
            };
        });
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var container in _containers.Values)
        {
            await container.DisposeAsync();
        }

        await Task.WhenAll(_runs).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
