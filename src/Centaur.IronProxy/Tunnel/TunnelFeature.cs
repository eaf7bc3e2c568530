using Centaur.IronProxy.Forwarding;
using Centaur.IronProxy.Identity;

namespace Centaur.IronProxy.Tunnel;

/// <summary>
/// Set on a connection once its CONNECT is accepted: the decrypted requests that follow go to this host and port,
/// whatever their Host header says, on behalf of this sandbox.
/// </summary>
internal sealed class TunnelFeature(string host, int port, SandboxIdentity identity)
{
    public string Host { get; } = host;

    public int Port { get; } = port;

    public SandboxIdentity Identity { get; } = identity;

    /// <summary>https://host[:port], the forwarder's destination prefix.</summary>
    public string DestinationPrefix { get; } = port == 443 ? $"https://{host}" : $"https://{host}:{port}";

    /// <summary>A CONNECT refused inside the tunnel: every request on it is answered with this.</summary>
    public EgressDenial? Denial { get; init; }

    /// <summary>Report mode: the CONNECT would have been refused for this reason.</summary>
    public EgressDenial? Reported { get; init; }
}
