using System.Net;
using System.Net.Sockets;
using Google.Protobuf;

namespace Doppel.Protocol.V1;

/// <summary>Conversions between the wire's <c>SockAddr</c> and <see cref="IPEndPoint"/>.</summary>
public sealed partial class SockAddr
{
    /// <summary>The wire form of <paramref name="endPoint"/> (address family kept as is).</summary>
    public static SockAddr FromIPEndPoint(IPEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        return new SockAddr
        {
            Ip = EncodeIp(endPoint.Address),
            Port = (uint)endPoint.Port,
            ScopeId = endPoint.AddressFamily == AddressFamily.InterNetworkV6 ? (uint)endPoint.Address.ScopeId : 0,
        };
    }

    /// <summary>This address as an <see cref="IPEndPoint"/>; <see cref="FormatException"/> when the ip is not 4 or 16 bytes or the port exceeds 65535.</summary>
    public IPEndPoint ToIPEndPoint()
    {
        if (Port > IPEndPoint.MaxPort)
        {
            throw new FormatException($"Port {Port} is out of range.");
        }

        var address = DecodeIp(Ip);
        if (address.AddressFamily == AddressFamily.InterNetworkV6 && ScopeId != 0)
        {
            address.ScopeId = ScopeId;
        }

        return new IPEndPoint(address, (int)Port);
    }

    /// <summary>4 or 16 bytes in network order.</summary>
    public static ByteString EncodeIp(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return ByteString.CopyFrom(address.GetAddressBytes());
    }

    /// <summary>The address in 4 (IPv4) or 16 (IPv6) bytes; <see cref="FormatException"/> for any other length.</summary>
    public static IPAddress DecodeIp(ByteString bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        return bytes.Length is 4 or 16
            ? new IPAddress(bytes.Span)
            : throw new FormatException($"An IP address has 4 or 16 bytes, not {bytes.Length}.");
    }
}
