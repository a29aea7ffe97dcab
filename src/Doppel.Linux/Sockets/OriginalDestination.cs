using System.Net;
using System.Net.Sockets;

namespace Doppel.Linux.Sockets;

/// <summary>
/// The destination a TCP connection had before a netfilter <c>redirect</c>/DNAT changed it, read
/// from conntrack on the accepted socket: <c>getsockopt(SOL_IP, SO_ORIGINAL_DST)</c> for IPv4
/// (include/uapi/linux/netfilter_ipv4.h), <c>getsockopt(SOL_IPV6, IP6T_SO_ORIGINAL_DST)</c> for
/// IPv6 (include/uapi/linux/netfilter_ipv6/ip6_tables.h); both answer a sockaddr_in/_in6.
/// </summary>
public static class OriginalDestination
{
    private const int SolIp = 0;
    private const int SolIpv6 = 41;

    /// <summary>SO_ORIGINAL_DST and IP6T_SO_ORIGINAL_DST share the number 80.</summary>
    private const int SoOriginalDst = 80;

    /// <summary>
    /// The pre-redirect destination of an accepted TCP socket (IPv4-mapped addresses of a
    /// dual-stack socket come out as IPv4), or null when conntrack knows no such connection
    /// (ENOENT: not redirected, or not tracked) or the socket is not an inet socket.
    /// </summary>
    public static IPEndPoint? Get(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        var local = socket.LocalEndPoint as IPEndPoint;
        var ipv4 = socket.AddressFamily == AddressFamily.InterNetwork || local?.Address.IsIPv4MappedToIPv6 == true;
        Span<byte> raw = stackalloc byte[SockAddr.MaxLength];
        try
        {
            var length = socket.GetRawSocketOption(ipv4 ? SolIp : SolIpv6, SoOriginalDst, raw);
            return SockAddr.Parse(raw[..length]);
        }
        catch (SocketException)
        {
            return null;
        }
    }
}
