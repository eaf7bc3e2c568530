using System.Collections.Concurrent;
using System.Collections.Frozen;

namespace Centaur.IronProxy.Policy;

/// <summary>
/// An immutable snapshot of the egress policy at one version. Lookups are by the host actually dialled (the
/// CONNECT target, the absolute-form authority or the route's destination), never by a Host header.
/// </summary>
internal sealed class EgressPolicy
{
    private const int ResolveCacheLimit = 10_000;

    private readonly FrozenDictionary<string, HostRule> _exactHosts;
    private readonly (string Suffix, HostRule Rule)[] _wildcardHosts;
    private readonly HostRule? _anyHost;
    private readonly FrozenDictionary<string, CredentialBinding[]> _exactBindings;
    private readonly (string Suffix, CredentialBinding Binding)[] _wildcardBindings;
    private readonly FrozenDictionary<string, CredentialBinding[]> _bindingsByName;
    private readonly ConcurrentDictionary<string, ResolvedHost> _resolved = new(StringComparer.OrdinalIgnoreCase);
    private readonly FrozenSet<(string ThreadKey, string Host)> _threadHosts;

    public EgressPolicy(
        long version,
        PolicyMode mode,
        bool denyInTunnel,
        IReadOnlyList<HostRule> hosts,
        IReadOnlyList<CredentialBinding> bindings,
        IReadOnlyDictionary<string, Uri> routes,
        IReadOnlyCollection<(string ThreadKey, string Host)>? threadHosts = null)
    {
        Version = version;
        Mode = mode;
        DenyInTunnel = denyInTunnel;
        Routes = routes.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        HostCount = hosts.Count;
        BindingCount = bindings.Count;
        _threadHosts = (threadHosts ?? []).Select(t => (t.ThreadKey, t.Host.ToLowerInvariant())).ToFrozenSet();
        ThreadAllowanceCount = _threadHosts.Count;

        _exactHosts = hosts.Where(h => !h.Pattern.StartsWith('*')).ToFrozenDictionary(h => h.Pattern, StringComparer.OrdinalIgnoreCase);
        // Longest suffix first: the most specific entry wins.
        _wildcardHosts = [.. hosts.Where(h => h.Pattern.StartsWith("*.", StringComparison.Ordinal))
            .Select(h => (h.Pattern[1..], h)).OrderByDescending(w => w.Item1.Length)];
        _anyHost = hosts.FirstOrDefault(h => h.Pattern == "*");

        _exactBindings = bindings.Where(b => !b.HostPattern.StartsWith('*'))
            .GroupBy(b => b.HostPattern, StringComparer.OrdinalIgnoreCase)
            .ToFrozenDictionary(g => g.Key, g => g.ToArray(), StringComparer.OrdinalIgnoreCase);
        _wildcardBindings = [.. bindings.Where(b => b.HostPattern.StartsWith("*.", StringComparison.Ordinal)).Select(b => (b.HostPattern[1..], b))];
        _bindingsByName = bindings.GroupBy(b => b.Name, StringComparer.Ordinal)
            .ToFrozenDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);
    }

    public static EgressPolicy Empty { get; } = new(0, PolicyMode.Enforce, true, [], [], new Dictionary<string, Uri>());

    public long Version { get; }

    public PolicyMode Mode { get; }

    public bool DenyInTunnel { get; }

    public int HostCount { get; }

    public int BindingCount { get; }

    public int ThreadAllowanceCount { get; }

    /// <summary>Ports a per-thread allowance opens (egress_thread_allowances): the defaults of an allowlist entry.</summary>
    public static readonly IReadOnlySet<int> ThreadAllowancePorts = new HashSet<int> { 443, 80 };

    /// <summary>Reverse-mode routes: first path segment → destination base URL.</summary>
    public FrozenDictionary<string, Uri> Routes { get; }

    public ResolvedHost Resolve(string host)
    {
        if (_resolved.TryGetValue(host, out var cached))
        {
            return cached;
        }

        var resolved = new ResolvedHost(host, MatchHost(host), MatchBindings(host));
        // A '*' allowlist admits any name; the cache must not become a way to fill memory.
        if (_resolved.Count < ResolveCacheLimit)
        {
            _resolved.TryAdd(host, resolved);
        }

        return resolved;
    }

    /// <summary>
    /// The allowlist decision for one request: the host's entry, or a per-thread allowance of the sending thread for
    /// exactly this host (any other thread is still refused). The address guard and bindings apply either way.
    /// </summary>
    public bool Allows(ResolvedHost target, int port, string threadKey) =>
        target.IsAllowed(port) || (ThreadAllowancePorts.Contains(port) && _threadHosts.Contains((threadKey, target.Host.ToLowerInvariant())));

    /// <summary>Every binding that uses this placeholder name (whichever hosts they are bound to).</summary>
    public CredentialBinding[] BindingsNamed(string name) =>
        _bindingsByName.TryGetValue(name, out var bindings) ? bindings : [];

    private HostRule? MatchHost(string host)
    {
        if (_exactHosts.TryGetValue(host, out var rule))
        {
            return rule;
        }

        foreach (var (suffix, wildcard) in _wildcardHosts)
        {
            if (host.Length > suffix.Length && host.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                return wildcard;
            }
        }

        return _anyHost;
    }

    private CredentialBinding[] MatchBindings(string host)
    {
        var exact = _exactBindings.TryGetValue(host, out var found) ? found : [];
        if (_wildcardBindings.Length == 0)
        {
            return exact;
        }

        var wildcard = _wildcardBindings
            .Where(w => host.Length > w.Suffix.Length && host.EndsWith(w.Suffix, StringComparison.OrdinalIgnoreCase))
            .Select(w => w.Binding);
        return [.. exact, .. wildcard];
    }
}
