using k8s;
using k8s.Autorest;
using k8s.Models;
using System.Net;

namespace Centaur.Api.Sandboxes.Kubernetes;

/// <summary>Reading a pod's state, and the few Kubernetes API calls every part of the backend shares.</summary>
internal static class SandboxPods
{
    public static bool IsReady(V1Pod pod) =>
        pod.Metadata.DeletionTimestamp is null
        && pod.Status?.Phase == "Running"
        && pod.Status.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;

    public static bool IsGone(V1Pod pod) =>
        pod.Metadata.DeletionTimestamp is not null
        || pod.Status?.Phase is "Succeeded" or "Failed"
        || pod.Status?.ContainerStatuses?.Any(c => c.State?.Terminated is not null) == true;

    public static SandboxInfo ToInfo(V1Pod pod)
    {
        var state = IsGone(pod) ? SandboxState.Exited : IsReady(pod) ? SandboxState.Ready : SandboxState.Starting;
        var annotations = pod.Metadata.Annotations ?? new Dictionary<string, string>();
        return new SandboxInfo(
            annotations.TryGetValue(SandboxLabels.SandboxIdAnnotation, out var id) ? id : pod.Metadata.Name,
            state,
            annotations.TryGetValue(SandboxLabels.ThreadKeyAnnotation, out var thread) ? thread : null,
            pod.Metadata.CreationTimestamp is { } created ? new DateTimeOffset(DateTime.SpecifyKind(created, DateTimeKind.Utc)) : DateTimeOffset.MinValue);
    }

    /// <summary>Why a pod is not running yet, for an error an operator can act on (image pull, missing ConfigMap…).</summary>
    public static string Describe(V1Pod pod)
    {
        var container = pod.Status?.ContainerStatuses?.FirstOrDefault();
        var waiting = container?.State?.Waiting;
        var terminated = container?.State?.Terminated;
        var condition = pod.Status?.Conditions?.FirstOrDefault(c => c.Status != "True" && c.Message is not null);
        return string.Join("; ", new[]
        {
            $"phase {pod.Status?.Phase ?? "unknown"}",
            waiting is null ? null : $"{waiting.Reason}: {waiting.Message}",
            terminated is null ? null : $"exited {terminated.ExitCode} ({terminated.Reason})",
            condition is null ? null : $"{condition.Type}: {condition.Message}",
        }.Where(s => s is not null));
    }

    public static string? Label(V1Pod pod, string name) =>
        pod.Metadata.Labels is { } labels && labels.TryGetValue(name, out var value) ? value : null;

    public static DateTimeOffset? Annotation(V1Pod pod, string name) =>
        pod.Metadata.Annotations?.TryGetValue(name, out var value) == true && DateTimeOffset.TryParse(value, out var parsed) ? parsed : null;

    public static async Task<V1Pod?> ReadAsync(IKubernetes client, string ns, string name, CancellationToken cancellationToken)
    {
        try
        {
            return await client.CoreV1.ReadNamespacedPodAsync(name, ns, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException ex) when (ex.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public static async Task<IReadOnlyList<V1Pod>> ListAsync(IKubernetes client, string ns, string selector, CancellationToken cancellationToken)
    {
        var list = await client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: selector, cancellationToken: cancellationToken);
        return [.. list.Items.Where(p => p.Metadata.DeletionTimestamp is null)];
    }

    /// <summary>Deletes a pod; true if it existed. Deleting is idempotent: a pod already gone is not an error.</summary>
    public static async Task<bool> DeleteAsync(IKubernetes client, string ns, string name, CancellationToken cancellationToken)
    {
        try
        {
            await client.CoreV1.DeleteNamespacedPodAsync(name, ns, gracePeriodSeconds: 5, cancellationToken: cancellationToken);
            return true;
        }
        catch (HttpOperationException ex) when (ex.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    public static bool IsConflict(HttpOperationException ex) => ex.Response.StatusCode == HttpStatusCode.Conflict;
}
