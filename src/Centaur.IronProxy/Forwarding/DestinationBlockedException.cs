using System.Net;

namespace Centaur.IronProxy.Forwarding;

/// <summary>Thrown from the connect callback when every resolved address is refused by <see cref="AddressGuard"/>.</summary>
internal sealed class DestinationBlockedException(string host, IPAddress address)
    : IOException($"{host} resolves to {address}, which is not a public address")
{
    public string Host { get; } = host;

    public IPAddress Address { get; } = address;
}
