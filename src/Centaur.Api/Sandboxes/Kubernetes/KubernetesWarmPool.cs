using System.Security.Cryptography;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Options;

namespace Centaur.Api.Sandboxes.Kubernetes;

/// <summary>
/// Unassigned sandbox pods kept running. The pool has no memory of its own: its members are the pods labelled
/// pool=warm with the current generation, so pods left by a previous API process (or another replica) are adopted,
/// never duplicated, and pods from older settings are retired. A claim is a merge patch that carries the pod's
/// resourceVersion: the API server applies it only if nobody changed the pod since it was listed, so of two
/// replicas claiming the same pod exactly one succeeds and the other gets 409 Conflict and tries the next.
/// </summary>
internal sealed class KubernetesWarmPool(
    IKubernetes client, IOptions<KubernetesSandboxOptions> options, TimeProvider time, ILogger<KubernetesWarmPool> logger)
{
    private readonly KubernetesSandboxOptions _options = options.Value;
    private readonly SandboxPodTemplate _template = new(options.Value);
    private int _ready;

    /// <summary>Ready pool pods at the last refill pass, less this process's claims since (the warm pool gauge).</summary>
    public int ReadyCount => Math.Max(0, Volatile.Read(ref _ready));

    /// <summary>The generation of pool pods: the template with the pool's (thread-less) environment.</summary>
    public string Generation => SandboxPodTemplate.Generation(_template.Spec(_options.PoolEnvironment));

    public async Task<V1Pod?> TryClaimAsync(string threadKey, CancellationToken cancellationToken)
    {
        var generation = Generation;
        var candidates = (await SandboxPods.ListAsync(client, _options.Namespace, SandboxLabels.WarmPods, cancellationToken))
            .Where(p => SandboxPods.Label(p, SandboxLabels.Generation) == generation && SandboxPods.IsReady(p))
            .OrderBy(p => p.Metadata.CreationTimestamp)
            .ThenBy(p => p.Metadata.Name, StringComparer.Ordinal);
        var threadHash = SandboxLabels.HashThreadKey(threadKey);
        foreach (var candidate in candidates)
        {
            var now = time.GetUtcNow().ToString("O");
            var patch = new JsonObject
            {
                ["metadata"] = new JsonObject
                {
                    ["resourceVersion"] = candidate.Metadata.ResourceVersion, // the precondition that makes the claim atomic
                    ["labels"] = new JsonObject { [SandboxLabels.Pool] = SandboxLabels.Assigned, [SandboxLabels.ThreadHash] = threadHash },
                    ["annotations"] = new JsonObject
                    {
                        [SandboxLabels.ThreadKeyAnnotation] = threadKey,
                        [SandboxLabels.SandboxIdAnnotation] = candidate.Metadata.Name,
                        [SandboxLabels.ClaimedAtAnnotation] = now,
                        [SandboxLabels.LastActiveAnnotation] = now,
                    },
                },
            };
            try
            {
                var claimed = await client.CoreV1.PatchNamespacedPodAsync(
                    new V1Patch(patch.ToJsonString(), V1Patch.PatchType.MergePatch), candidate.Metadata.Name, _options.Namespace,
                    cancellationToken: cancellationToken);
                Interlocked.Decrement(ref _ready);
                logger.WarmPodClaimed(claimed.Metadata.Name, threadHash);
                return claimed;
            }
            catch (HttpOperationException ex) when (SandboxPods.IsConflict(ex) || ex.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                logger.WarmPodClaimLost(candidate.Metadata.Name);
            }
        }

        return null;
    }

    /// <summary>One pass: retire pods of other generations or that ended, then create what is missing (within capacity).</summary>
    public async Task RefillAsync(CancellationToken cancellationToken)
    {
        var generation = Generation;
        var pods = await SandboxPods.ListAsync(client, _options.Namespace, SandboxLabels.WarmPods, cancellationToken);
        var retired = 0;
        var live = new List<V1Pod>();
        foreach (var pod in pods)
        {
            if (SandboxPods.Label(pod, SandboxLabels.Generation) != generation || SandboxPods.IsGone(pod))
            {
                retired += await SandboxPods.DeleteAsync(client, _options.Namespace, pod.Metadata.Name, cancellationToken) ? 1 : 0;
            }
            else
            {
                live.Add(pod);
            }
        }

        // The pool shrank (a new setting): the youngest extras go.
        foreach (var extra in live.OrderByDescending(p => p.Metadata.CreationTimestamp).Take(Math.Max(0, live.Count - _options.WarmPoolSize)).ToList())
        {
            retired += await SandboxPods.DeleteAsync(client, _options.Namespace, extra.Metadata.Name, cancellationToken) ? 1 : 0;
            live.Remove(extra);
        }

        Volatile.Write(ref _ready, live.Count(SandboxPods.IsReady));
        var missing = _options.WarmPoolSize - live.Count;
        if (missing > 0 && _options.MaxSandboxes > 0)
        {
            // Warm pods never push out assigned ones: they only fill free capacity.
            var total = (await SandboxPods.ListAsync(client, _options.Namespace, SandboxLabels.AllSandboxes, cancellationToken)).Count;
            missing = Math.Min(missing, _options.MaxSandboxes - total);
        }

        var created = 0;
        for (var i = 0; i < missing; i++)
        {
            var pod = _template.Pod(NewName(), _options.PoolEnvironment, threadKey: null, sandboxId: null, time.GetUtcNow(), warm: true);
            await client.CoreV1.CreateNamespacedPodAsync(pod, _options.Namespace, cancellationToken: cancellationToken);
            created++;
        }

        if (created > 0 || retired > 0)
        {
            logger.PoolRefilled(created, retired, live.Count + created, _options.WarmPoolSize, generation);
        }
    }

    /// <summary>Pool pods are named by the pool; sbx-w- tells them apart from cold-started ones in kubectl output.</summary>
    private static string NewName() => "sbx-w-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
}
