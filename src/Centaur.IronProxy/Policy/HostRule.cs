using System.Net;
using System.Security.Cryptography.X509Certificates;

namespace Centaur.IronProxy.Policy;

/// <summary>One allowlist entry (egress_hosts).</summary>
internal sealed record HostRule(
    string Pattern,
    IReadOnlySet<int> Ports,
    HeaderAllowlist Headers,
    bool AllowPrivate,
    IPEndPoint? ConnectTo,
    X509Certificate2? TrustedCa);
