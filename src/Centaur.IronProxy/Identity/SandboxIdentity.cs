using System.Net;

namespace Centaur.IronProxy.Identity;

/// <summary>
/// Who sent a request: the thread and sandbox named by a valid sandbox token, and the address the token is bound to
/// (a Kubernetes pod's IP; none for local sandboxes, which reach the proxy through its Unix socket).
/// </summary>
internal sealed record SandboxIdentity(string ThreadKey, string SandboxId, IPAddress? Address = null)
{
    /// <summary>True unless the token is bound to an address and the connection comes from another (or from none).</summary>
    public bool MayComeFrom(IPAddress? remote) =>
        Address is null || (remote is not null && Normalize(remote).Equals(Address));

    internal static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}
