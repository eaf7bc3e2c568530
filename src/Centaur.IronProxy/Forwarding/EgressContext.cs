using Centaur.IronProxy.Identity;
using Centaur.IronProxy.Policy;

namespace Centaur.IronProxy.Forwarding;

/// <summary>Per-request state shared by the forwarder, the transformer and the audit row (an HttpContext feature).</summary>
internal sealed class EgressContext(SandboxIdentity identity, EgressMode mode, string scheme, string host, int port, EgressPolicy policy)
{
    public SandboxIdentity Identity { get; } = identity;

    public EgressMode Mode { get; } = mode;

    public string Scheme { get; } = scheme;

    /// <summary>The host actually dialled: every policy decision is keyed on it.</summary>
    public string Host { get; } = host;

    public int Port { get; } = port;

    public EgressPolicy Policy { get; } = policy;

    public ResolvedHost Target { get; } = policy.Resolve(host);

    public List<string>? Injected { get; private set; }

    public string Decision { get; private set; } = "allow";

    public string? Reason { get; private set; }

    public void Inject(string binding) => (Injected ??= []).Add(binding);

    public void Deny(EgressDenial denial)
    {
        Decision = "deny";
        Reason = denial.Code;
    }

    /// <summary>Report mode: the denial is recorded, the request goes on. The first reason is kept.</summary>
    public void Report(EgressDenial denial)
    {
        if (Decision == "allow")
        {
            Decision = "report";
            Reason = denial.Code;
        }
    }
}
