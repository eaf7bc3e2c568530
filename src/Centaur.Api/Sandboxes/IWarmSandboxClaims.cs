namespace Centaur.Api.Sandboxes;

/// <summary>
/// A backend whose warm pool lives outside this process (in the cluster) and survives API restarts and replicas.
/// When the backend offers it, <see cref="SandboxPool"/> claims from it in get_or_spawn step 2 instead of keeping an
/// in-memory pool of its own (no double pooling); the control plane then sends the per-thread setup line over the
/// wire exactly as after any warm claim.
/// </summary>
internal interface IWarmSandboxClaims
{
    /// <summary>Claims a ready pool sandbox for the thread, or null when none is free (then cold-start).</summary>
    Task<SandboxInfo?> TryClaimWarmAsync(string threadKey, CancellationToken cancellationToken);

    /// <summary>Ready, unclaimed pool sandboxes as last observed (for the warm pool gauge; other replicas may claim meanwhile).</summary>
    int WarmCount { get; }
}
