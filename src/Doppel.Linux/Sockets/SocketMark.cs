using System.Buffers.Binary;
using System.Net.Sockets;

namespace Doppel.Linux.Sockets;

/// <summary>
/// SO_MARK (include/uapi/asm-generic/socket.h: SOL_SOCKET 1, SO_MARK 36): a 32-bit mark the kernel
/// puts on every packet the socket sends, matched by nftables as <c>meta mark</c>. Setting it needs
/// CAP_NET_ADMIN in the socket's network namespace.
/// </summary>
public static class SocketMark
{
    private const int SolSocket = 1;
    private const int SoMark = 36;

    /// <summary>Marks the socket's packets with <paramref name="mark"/>; throws <see cref="SocketException"/> (EPERM without CAP_NET_ADMIN).</summary>
    public static void Set(Socket socket, uint mark)
    {
        ArgumentNullException.ThrowIfNull(socket);
        Span<byte> value = stackalloc byte[sizeof(uint)];
        BinaryPrimitives.WriteUInt32LittleEndian(value, mark);
        socket.SetRawSocketOption(SolSocket, SoMark, value);
    }

    /// <summary>The socket's mark (0 when none).</summary>
    public static uint Get(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        Span<byte> value = stackalloc byte[sizeof(uint)];
        socket.GetRawSocketOption(SolSocket, SoMark, value);
        return BinaryPrimitives.ReadUInt32LittleEndian(value);
    }
}
