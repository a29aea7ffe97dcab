using System.Buffers.Binary;
using System.Net;
using Doppel.Linux.Native;

namespace Doppel.Linux.Sockets;

/// <summary>
/// TCP sockets of the calling thread's network namespace through NETLINK_SOCK_DIAG
/// (include/uapi/linux/inet_diag.h, sock_diag.h; what <c>ss</c> and <c>ss -K</c> use):
/// <code>
///   SOCK_DIAG_BY_FAMILY (20) + NLM_F_DUMP, inet_diag_req_v2 {AF_INET|AF_INET6, IPPROTO_TCP, states}
///     ◄── inet_diag_msg {family, state, id {sport, dport, src, dst, if, cookie}, ..., inode} …, NLMSG_DONE
///   SOCK_DESTROY (21), inet_diag_req_v2 {family, IPPROTO_TCP, id of one socket, cookie included}
///     ◄── NLMSG_ERROR {0 | -errno}
/// </code>
/// Listing needs no privilege. Destroying needs CAP_NET_ADMIN in the namespace's user namespace
/// and a kernel built with CONFIG_INET_DIAG_DESTROY (else EOPNOTSUPP); the destroyed socket's
/// owner sees ECONNABORTED and its peer gets a reset (tcp_abort).
/// </summary>
public static class SockDiag
{
    /// <summary>TCP_ESTABLISHED (include/net/tcp_states.h).</summary>
    public const int Established = 1;

    /// <summary>TCP_LISTEN.</summary>
    public const int Listen = 10;

    private const int AfNetlink = 16;
    private const int SockRaw = 3;
    private const int SockCloexec = 0x80000;
    private const int NetlinkSockDiag = 4;
    private const ushort SockDiagByFamily = 20;
    private const ushort SockDestroy = 21;
    private const ushort NlmsgError = 2;
    private const ushort NlmsgDone = 3;
    private const ushort NlmFRequest = 1;
    private const ushort NlmFAck = 4;
    private const ushort NlmFDump = 0x300;
    private const byte IpProtoTcp = 6;
    private const int HeaderLength = 16;
    private const int RequestLength = HeaderLength + 56;
    private const int MessageLength = 72;
    private const int IdOffset = 4;
    private const int IdLength = 48;
    private const ushort InetDiagMark = 15;

    /// <summary>
    /// The namespace's TCP sockets (IPv4 and IPv6) whose state is in <paramref name="states"/>
    /// (a bit mask of <c>1 &lt;&lt; state</c>, e.g. <c>1 &lt;&lt; Listen</c>). Throws
    /// <see cref="IOException"/> when the netlink socket cannot be opened or the kernel refuses the dump.
    /// </summary>
    public static List<TcpSocketEntry> List(uint states)
    {
        using var socket = Open();
        var entries = new List<TcpSocketEntry>();
        Span<byte> request = stackalloc byte[RequestLength];
        foreach (var family in new byte[] { SocketCalls.AfInet, SocketCalls.AfInet6 })
        {
            Request(request, SockDiagByFamily, NlmFRequest | NlmFDump, family, states, default);
            Send(socket, request);
            ReadDump(socket, entries);
        }

        return entries;
    }

    /// <summary>
    /// Destroys one socket (as <c>ss -K</c>): 0, or <c>-errno</c> (ENOENT: already gone; EPERM: no
    /// CAP_NET_ADMIN; EOPNOTSUPP: no CONFIG_INET_DIAG_DESTROY). The entry's cookie makes sure a
    /// newer socket with the same addresses is never hit.
    /// </summary>
    public static int Destroy(TcpSocketEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        using var socket = Open();
        Span<byte> request = stackalloc byte[RequestLength];
        Request(request, SockDestroy, NlmFRequest | NlmFAck, entry.Family, uint.MaxValue, entry.Id);
        Send(socket, request);
        var buffer = new byte[8192];
        var n = Receive(socket, buffer);
        if (n >= HeaderLength + 4 && BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan(4)) == NlmsgError)
        {
            return BinaryPrimitives.ReadInt32LittleEndian(buffer.AsSpan(HeaderLength));
        }

        return -Errno.EIO;
    }

    private static Microsoft.Win32.SafeHandles.SafeFileHandle Open()
    {
        var fd = LibC.Syscall(SyscallNumber.Socket, AfNetlink, SockRaw | SockCloexec, NetlinkSockDiag);
        if (fd < 0)
        {
            throw new IOException($"Cannot open a NETLINK_SOCK_DIAG socket (errno {-fd}).");
        }

        return new Microsoft.Win32.SafeHandles.SafeFileHandle(checked((IntPtr)fd), ownsHandle: true);
    }

    private static void Request(Span<byte> request, ushort type, ushort flags, byte family, uint states, ReadOnlySpan<byte> id)
    {
        request.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(request, (uint)request.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(request[4..], type);
        BinaryPrimitives.WriteUInt16LittleEndian(request[6..], flags);
        BinaryPrimitives.WriteUInt32LittleEndian(request[8..], 1); // sequence
        request[HeaderLength] = family;
        request[HeaderLength + 1] = IpProtoTcp;
        BinaryPrimitives.WriteUInt32LittleEndian(request[(HeaderLength + 4)..], states);
        id.CopyTo(request[(HeaderLength + 8)..]);
    }

    private static unsafe void Send(Microsoft.Win32.SafeHandles.SafeFileHandle socket, ReadOnlySpan<byte> request)
    {
        Span<byte> kernel = stackalloc byte[12]; // sockaddr_nl {AF_NETLINK, pad, pid 0 = the kernel, groups 0}
        kernel.Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(kernel, AfNetlink);
        fixed (byte* data = request)
        fixed (byte* address = kernel)
        {
            var sent = LibC.Syscall(SyscallNumber.SendTo, socket.DangerousGetHandle(), (long)data, request.Length, 0, (long)address, kernel.Length);
            if (sent < 0)
            {
                throw new IOException($"The sock_diag request failed (errno {-sent}).");
            }
        }
    }

    private static unsafe int Receive(Microsoft.Win32.SafeHandles.SafeFileHandle socket, byte[] buffer)
    {
        fixed (byte* data = buffer)
        {
            long n;
            do
            {
                n = LibC.Syscall(SyscallNumber.RecvFrom, socket.DangerousGetHandle(), (long)data, buffer.Length, 0, 0, 0);
            }
            while (n == -Errno.EINTR);

            if (n < 0)
            {
                throw new IOException($"The sock_diag answer could not be read (errno {-n}).");
            }

            return (int)n;
        }
    }

    private static void ReadDump(Microsoft.Win32.SafeHandles.SafeFileHandle socket, List<TcpSocketEntry> entries)
    {
        var buffer = new byte[32768];
        while (true)
        {
            var n = Receive(socket, buffer);
            var offset = 0;
            while (offset + HeaderLength <= n)
            {
                var message = buffer.AsSpan(offset, n - offset);
                var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(message);
                var type = BinaryPrimitives.ReadUInt16LittleEndian(message[4..]);
                if (length < HeaderLength || length > message.Length)
                {
                    return;
                }

                if (type == NlmsgDone)
                {
                    return;
                }

                if (type == NlmsgError)
                {
                    var errno = length >= HeaderLength + 4 ? -BinaryPrimitives.ReadInt32LittleEndian(message[HeaderLength..]) : Errno.EIO;
                    throw new IOException($"The kernel refused the sock_diag dump (errno {errno}).");
                }

                if (type == SockDiagByFamily && length >= HeaderLength + MessageLength)
                {
                    entries.Add(Entry(message.Slice(HeaderLength, MessageLength), message[(HeaderLength + MessageLength)..length]));
                }

                offset += (length + 3) & ~3;
            }

            if (n == 0)
            {
                return;
            }
        }
    }

    private static TcpSocketEntry Entry(ReadOnlySpan<byte> message, ReadOnlySpan<byte> attributes)
    {
        var family = message[0];
        var id = message.Slice(IdOffset, IdLength);
        var sport = BinaryPrimitives.ReadUInt16BigEndian(id);
        var dport = BinaryPrimitives.ReadUInt16BigEndian(id[2..]);
        return new TcpSocketEntry(
            family,
            message[1],
            new IPEndPoint(Address(family, id.Slice(4, 16)), sport),
            new IPEndPoint(Address(family, id.Slice(20, 16)), dport),
            BinaryPrimitives.ReadUInt32LittleEndian(message[68..]),
            id.ToArray(),
            Mark(attributes));
    }

    /// <summary>INET_DIAG_MARK (15), which the kernel adds for a requester with CAP_NET_ADMIN; null without it.</summary>
    private static uint? Mark(ReadOnlySpan<byte> attributes)
    {
        while (attributes.Length >= 4)
        {
            var length = BinaryPrimitives.ReadUInt16LittleEndian(attributes);
            var type = BinaryPrimitives.ReadUInt16LittleEndian(attributes[2..]);
            if (length < 4 || length > attributes.Length)
            {
                return null;
            }

            if (type == InetDiagMark && length >= 8)
            {
                return BinaryPrimitives.ReadUInt32LittleEndian(attributes[4..]);
            }

            var next = (length + 3) & ~3;
            attributes = next >= attributes.Length ? default : attributes[next..];
        }

        return null;
    }

    private static IPAddress Address(byte family, ReadOnlySpan<byte> raw)
    {
        if (family == SocketCalls.AfInet)
        {
            return new IPAddress(raw[..4]);
        }

        var address = new IPAddress(raw);
        return address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
    }
}
