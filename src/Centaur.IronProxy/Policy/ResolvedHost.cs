namespace Centaur.IronProxy.Policy;

/// <summary>What the policy says about one dialled host: its allowlist entry (null: not allowed) and its bindings.</summary>
internal sealed record ResolvedHost(string Host, HostRule? Rule, CredentialBinding[] Bindings)
{
    public bool IsAllowed(int port) => Rule is not null && Rule.Ports.Contains(port);
}
