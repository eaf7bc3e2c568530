using System.Net;
using System.Net.Sockets;

namespace Centaur.IronProxy.Forwarding;

/// <summary>
/// The SSRF guard: after DNS, only public unicast addresses are dialled unless a host's entry allows private ones.
/// Loopback, RFC 1918, CGNAT, link-local (cloud metadata lives at 169.254.169.254 and fd00:ec2::254), ULA,
/// multicast and reserved ranges are refused.
/// </summary>
internal static class AddressGuard
{
    public static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            Span<byte> b = stackalloc byte[4];
            address.TryWriteBytes(b, out _);
            return !(b[0] is 0 or 10 or 127 or >= 224
                || (b[0] == 100 && (b[1] & 0xC0) == 64)       // 100.64/10 CGNAT
                || (b[0] == 169 && b[1] == 254)              // link-local, metadata
                || (b[0] == 172 && (b[1] & 0xF0) == 16)      // 172.16/12
                || (b[0] == 192 && b[1] == 168)
                || (b[0] == 192 && b[1] == 0 && b[2] is 0 or 2)
                || (b[0] == 198 && (b[1] & 0xFE) == 18)      // 198.18/15 benchmarking
                || (b[0] == 198 && b[1] == 51 && b[2] == 100)
                || (b[0] == 203 && b[1] == 0 && b[2] == 113));
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return false;
        }

        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.IPv6None) || address.IsIPv6LinkLocal
            || address.IsIPv6SiteLocal || address.IsIPv6Multicast || address.IsIPv6UniqueLocal || address.IsIPv6Teredo)
        {
            return false;
        }

        Span<byte> v6 = stackalloc byte[16];
        address.TryWriteBytes(v6, out _);
        // 64:ff9b::/96 (NAT64) embeds an IPv4 address: judge that one.
        if (v6[..12].SequenceEqual((ReadOnlySpan<byte>)[0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0]))
        {
            return IsPublic(new IPAddress(v6[12..]));
        }

        return !(v6[0] == 0x20 && v6[1] == 0x01 && v6[2] == 0x0d && v6[3] == 0xb8); // documentation
    }
}
