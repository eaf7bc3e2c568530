namespace Centaur.Api.Sandboxes.Kubernetes;

/// <summary>
/// A backend whose warm pool lives outside this process (in the cluster) and survives API restarts and replicas.
/// The control plane calls this in get_or_spawn step 2 instead of its in-memory pool, then sends the per-thread
/// setup line over the wire exactly as after any warm claim.
/// </summary>
internal interface IWarmSandboxClaims
{
    /// <summary>Claims a ready pool sandbox for the thread, or null when none is free (then cold-start).</summary>
    Task<SandboxInfo?> TryClaimWarmAsync(string threadKey, CancellationToken cancellationToken);
}
