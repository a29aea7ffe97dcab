using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Doppel.Linux.Sockets;

/// <summary>
/// Raw <c>sockaddr_in</c> (16 bytes: family, port big-endian, address) and <c>sockaddr_in6</c>
/// (28 bytes: family, port, flow info, address, scope id) to and from <see cref="IPEndPoint"/>
/// (include/uapi/linux/in.h, in6.h).
/// </summary>
public static class SockAddr
{
    /// <summary>sizeof(struct sockaddr_storage): room for any address.</summary>
    public const int MaxLength = 128;
    private const int In4Length = 16;
    private const int In6Length = 28;

    /// <summary>Parses an inet/inet6 address; IPv4-mapped IPv6 comes out as IPv4. Null for other families.</summary>
    public static IPEndPoint? Parse(ReadOnlySpan<byte> raw)
    {
        if (raw.Length < 2)
        {
            return null;
        }

        var family = BinaryPrimitives.ReadUInt16LittleEndian(raw);
        if (family == SocketCalls.AfInet && raw.Length >= In4Length)
        {
            return new IPEndPoint(new IPAddress(raw.Slice(4, 4)), BinaryPrimitives.ReadUInt16BigEndian(raw[2..]));
        }

        if (family == SocketCalls.AfInet6 && raw.Length >= In6Length)
        {
            var address = new IPAddress(raw.Slice(8, 16), BinaryPrimitives.ReadUInt32LittleEndian(raw[24..]));
            if (address.IsIPv4MappedToIPv6)
            {
                address = address.MapToIPv4();
            }

            return new IPEndPoint(address, BinaryPrimitives.ReadUInt16BigEndian(raw[2..]));
        }

        return null;
    }

    /// <summary>
    /// Formats an endpoint for a socket of <paramref name="socketFamily"/>: an IPv4 endpoint on an
    /// IPv6 socket becomes IPv4-mapped. Null when the socket cannot reach it (IPv6 on an IPv4 socket).
    /// </summary>
    public static byte[]? Format(IPEndPoint endPoint, int socketFamily)
    {
        if (socketFamily == SocketCalls.AfInet)
        {
            if (endPoint.AddressFamily != AddressFamily.InterNetwork)
            {
                return null;
            }

            var raw = new byte[In4Length];
            BinaryPrimitives.WriteUInt16LittleEndian(raw, SocketCalls.AfInet);
            BinaryPrimitives.WriteUInt16BigEndian(raw.AsSpan(2), (ushort)endPoint.Port);
            endPoint.Address.TryWriteBytes(raw.AsSpan(4, 4), out _);
            return raw;
        }

        if (socketFamily == SocketCalls.AfInet6)
        {
            var address = endPoint.AddressFamily == AddressFamily.InterNetwork ? endPoint.Address.MapToIPv6() : endPoint.Address;
            var raw = new byte[In6Length];
            BinaryPrimitives.WriteUInt16LittleEndian(raw, SocketCalls.AfInet6);
            BinaryPrimitives.WriteUInt16BigEndian(raw.AsSpan(2), (ushort)endPoint.Port);
            address.TryWriteBytes(raw.AsSpan(8, 16), out _);
            BinaryPrimitives.WriteUInt32LittleEndian(raw.AsSpan(24), (uint)address.ScopeId);
            return raw;
        }

        return null;
    }
}
