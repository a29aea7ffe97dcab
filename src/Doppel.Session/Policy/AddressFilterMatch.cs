using System.Net;
using Doppel.Config;
using Doppel.Interception.Policy;

namespace Doppel.Session.Policy;

/// <summary>Whether a parsed <c>[proto://][name|ip|cidr][:port]</c> entry matches a destination.</summary>
internal static class AddressFilterMatch
{
    /// <remarks>
    /// Entries that name a host match no address here: names are matched when the session sees
    /// the DNS answers that map them to addresses (the DNS filter), which arrives with the session.
    /// </remarks>
    public static bool Matches(AddressFilter filter, Transport transport, IPEndPoint destination)
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

        return filter.Name is null; // ":53" — any host on that port
    }
}
