using System.Collections.Frozen;

namespace Centaur.IronProxy.Policy;

/// <summary>Request header names a host may receive: exact names, <c>prefix-*</c> patterns, or <c>*</c> for all.</summary>
internal sealed class HeaderAllowlist
{
    // What HTTP itself needs, whatever a host's list says: bodies, 100-continue, trailers, content negotiation
    // and WebSocket handshakes (stripping sec-websocket-* makes upstreams answer 400).
    private static readonly FrozenSet<string> s_protocol = FrozenSet.Create(StringComparer.OrdinalIgnoreCase,
        "content-length", "content-type", "content-encoding", "content-language", "content-range", "content-md5",
        "expect", "te", "accept", "accept-encoding", "accept-language", "host", "upgrade");

    public static readonly HeaderAllowlist All = new(true, FrozenSet<string>.Empty, []);

    private readonly bool _all;
    private readonly FrozenSet<string> _exact;
    private readonly string[] _prefixes;

    private HeaderAllowlist(bool all, FrozenSet<string> exact, string[] prefixes)
    {
        _all = all;
        _exact = exact;
        _prefixes = prefixes;
    }

    public static HeaderAllowlist From(IEnumerable<string>? names, IEnumerable<string> alwaysAllowed)
    {
        if (names is null)
        {
            return All;
        }

        var list = names.Select(n => n.Trim().ToLowerInvariant()).Where(n => n.Length > 0).ToList();
        if (list.Contains("*"))
        {
            return All;
        }

        return new HeaderAllowlist(
            false,
            list.Where(n => !n.EndsWith('*')).Concat(alwaysAllowed).ToFrozenSet(StringComparer.OrdinalIgnoreCase),
            [.. list.Where(n => n.EndsWith('*')).Select(n => n[..^1])]);
    }

    public bool Allows(string name)
    {
        if (_all || s_protocol.Contains(name) || _exact.Contains(name) || name.StartsWith("sec-websocket-", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        foreach (var prefix in _prefixes)
        {
            if (name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
