using System.Net;
using Doppel.Config;
using Doppel.Interception.Policy;

namespace Doppel.Session.Policy;

/// <summary>Whether a parsed <c>[proto://][name|ip|cidr][:port]</c> entry matches a destination.</summary>
internal static class AddressFilterMatch
{
    /// <remarks>
    /// An entry that names a host matches the addresses <paramref name="names"/> gives for it: the
    /// session resolves the filters' names through the target's resolver when it starts.
    /// </remarks>
    public static bool Matches(AddressFilter filter, Transport transport, IPEndPoint destination, IReadOnlyDictionary<string, IReadOnlySet<IPAddress>> names)
    {
        if ((filter.Protocol == FilterProtocol.Tcp && transport != Transport.Tcp) || (filter.Protocol == FilterProtocol.Udp && transport != Transport.Udp))
        {
            return false;
        }

        if (filter.Port is { } port && port != destination.Port)
        {
            return false;
        }

        if (filter.Network is { } network)
        {
            var address = destination.Address.IsIPv4MappedToIPv6 ? destination.Address.MapToIPv4() : destination.Address;
            return network.Contains(address);
        }

        if (filter.Name is { } name)
        {
            var address = destination.Address.IsIPv4MappedToIPv6 ? destination.Address.MapToIPv4() : destination.Address;
            return names.TryGetValue(name, out var addresses) && addresses.Contains(address);
        }

        return true; // ":53" — any host on that port
    }
}
