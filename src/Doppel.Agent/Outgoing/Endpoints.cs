using System.Net;
using System.Net.Sockets;
using Doppel.Protocol.V1;
using Grpc.Core;

namespace Doppel.Agent.Outgoing;

/// <summary>Socket addresses between the wire and .NET, with malformed input refused as INVALID_ARGUMENT.</summary>
internal static class Endpoints
{
    public static IPEndPoint Parse(SockAddr? address, string what)
    {
        if (address is null)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"The {what} address is missing."));
        }

        try
        {
            return address.ToIPEndPoint();
        }
        catch (FormatException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"The {what} address is malformed: {e.Message}"));
        }
    }

    /// <summary>
    /// The wire form of a peer seen by a dual-stack socket: IPv4-mapped addresses go back to IPv4
    /// when the flow was opened without a family (the session asked for neither in particular).
    /// </summary>
    public static SockAddr ToWire(EndPoint endPoint, bool unmap)
    {
        var ip = (IPEndPoint)endPoint;
        return unmap && ip.AddressFamily == AddressFamily.InterNetworkV6 && ip.Address.IsIPv4MappedToIPv6
            ? SockAddr.FromIPEndPoint(new IPEndPoint(ip.Address.MapToIPv4(), ip.Port))
            : SockAddr.FromIPEndPoint(ip);
    }
}
