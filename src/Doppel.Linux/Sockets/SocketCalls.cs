using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Doppel.Linux.Native;

namespace Doppel.Linux.Sockets;

/// <summary>
/// Raw socket calls on any fd, in particular on duplicates of a target's sockets. .NET's
/// <c>Socket</c> must not wrap those: it changes O_NONBLOCK, which the target shares.
/// </summary>
public static unsafe class SocketCalls
{
    public const int AfUnix = 1;
    public const int AfInet = 2;
    public const int AfInet6 = 10;
    public const int SockStream = 1;
    public const int SockDgram = 2;
    public const int SockCloexec = 0x80000;
    private const int SolSocket = 1;
    private const int SoType = 3;
    private const int SoDomain = 39;
    private const int SoError = 4;
    private const int SoRcvTimeo = 20;
    private const int SoSndTimeo = 21;
    private const int SoPeerCred = 17;
    private const int UcredLength = 12;
    private const int IpProtoTcp = 6;
    private const int TcpInfo = 11;

    /// <summary>SOL_SOCKET, the level of getsockopt(SO_ERROR) (kernel ABI).</summary>
    public const int SolSocketLevel = SolSocket;

    /// <summary>SO_ERROR, the option name of getsockopt(SOL_SOCKET, SO_ERROR) (kernel ABI).</summary>
    public const int SoErrorOption = SoError;

    /// <summary>O_NONBLOCK among the file status flags (F_GETFL/F_SETFL).</summary>
    public const int ONonBlock = 0x800;

    /// <summary>TCP_SYN_SENT, the state of a socket whose connect is under way (include/net/tcp_states.h).</summary>
    public const int TcpSynSent = 2;

    /// <summary>TCP_CLOSE: never connected, disconnected, or a failed connect (include/net/tcp_states.h).</summary>
    public const int TcpClose = 7;

    /// <summary>TCP_CLOSE_WAIT: the peer sent its FIN (half-closed) and this side may still send (include/net/tcp_states.h).</summary>
    public const int TcpCloseWait = 8;

    /// <summary>connect(2) with a raw sockaddr; returns 0 or <c>-errno</c> (e.g. -EINPROGRESS).</summary>
    public static int Connect(SafeHandle fd, ReadOnlySpan<byte> sockaddr)
    {
        fixed (byte* p = sockaddr)
        {
            return (int)LibC.Syscall(SyscallNumber.Connect, fd.DangerousGetHandle(), (long)p, sockaddr.Length);
        }
    }

    /// <summary>bind(2) with a raw sockaddr; returns 0 or <c>-errno</c>.</summary>
    public static int Bind(SafeHandle fd, ReadOnlySpan<byte> sockaddr)
    {
        fixed (byte* p = sockaddr)
        {
            return (int)LibC.Syscall(SyscallNumber.Bind, fd.DangerousGetHandle(), (long)p, sockaddr.Length);
        }
    }

    /// <summary>
    /// accept4(2) on a listening socket with <paramref name="flags"/> (SOCK_NONBLOCK, SOCK_CLOEXEC):
    /// returns the new fd (the caller owns it) or <c>-errno</c> (EAGAIN on a non-blocking listener
    /// with nothing queued; on a blocking one it waits). The peer's address goes to
    /// <paramref name="peer"/> (at most its length), its full length to <paramref name="peerLength"/>.
    /// </summary>
    public static int Accept(SafeHandle fd, int flags, Span<byte> peer, out int peerLength)
    {
        var length = peer.Length;
        fixed (byte* p = peer)
        {
            var r = LibC.Syscall(SyscallNumber.Accept4, fd.DangerousGetHandle(), (long)p, (long)&length, flags);
            peerLength = r < 0 ? 0 : length;
            return (int)r;
        }
    }

    /// <summary>getsockname(2) into <paramref name="buffer"/>; returns the address length or <c>-errno</c>.</summary>
    public static int GetSockName(SafeHandle fd, Span<byte> buffer) => GetName(SyscallNumber.GetSockName, fd, buffer);

    /// <summary>getpeername(2) into <paramref name="buffer"/>; returns the address length or <c>-errno</c>.</summary>
    public static int GetPeerName(SafeHandle fd, Span<byte> buffer) => GetName(SyscallNumber.GetPeerName, fd, buffer);

    /// <summary>SO_TYPE of a socket (SOCK_STREAM, SOCK_DGRAM, ...) or <c>-errno</c> (ENOTSOCK).</summary>
    public static int GetSocketType(SafeHandle fd) => GetIntOption(fd, SoType);

    /// <summary>SO_DOMAIN of a socket (AF_INET, AF_INET6, ...) or <c>-errno</c>.</summary>
    public static int GetSocketDomain(SafeHandle fd) => GetIntOption(fd, SoDomain);

    /// <summary>Creates a close-on-exec socket; returns the fd or <c>-errno</c>.</summary>
    public static int Create(int domain, int type)
        => (int)LibC.Syscall(SyscallNumber.Socket, domain, type | SockCloexec, 0);

    /// <summary>sendto(2); returns the byte count or <c>-errno</c>.</summary>
    public static int SendTo(SafeHandle fd, ReadOnlySpan<byte> data, int flags, ReadOnlySpan<byte> sockaddr)
    {
        fixed (byte* d = data)
        fixed (byte* a = sockaddr)
        {
            return (int)LibC.Syscall(SyscallNumber.SendTo, fd.DangerousGetHandle(), (long)d, data.Length, flags, sockaddr.IsEmpty ? 0 : (long)a, sockaddr.Length);
        }
    }

    /// <summary>
    /// sendmsg(2) of one buffer with an optional destination and control data; returns the byte
    /// count or <c>-errno</c>.
    /// </summary>
    public static int SendMsg(SafeHandle fd, ReadOnlySpan<byte> data, ReadOnlySpan<byte> sockaddr, ReadOnlySpan<byte> control, int flags)
    {
        fixed (byte* d = data)
        fixed (byte* a = sockaddr)
        fixed (byte* c = control)
        {
            var iov = stackalloc long[2] { (long)d, data.Length };
            var msg = stackalloc long[MessageHeader.Length / 8];
            FillMessageHeader(msg, iov, sockaddr.IsEmpty ? null : a, sockaddr.Length, control.IsEmpty ? null : c, control.Length);
            return (int)LibC.Syscall(SyscallNumber.SendMsg, fd.DangerousGetHandle(), (long)msg, flags);
        }
    }

    /// <summary>
    /// recvmsg(2) into one buffer; returns the byte count (as the kernel reports it, which with
    /// MSG_TRUNC may exceed the buffer) or <c>-errno</c>, with the lengths of the source address
    /// and control data, and the message flags.
    /// </summary>
    public static int RecvMsg(SafeHandle fd, Span<byte> data, Span<byte> sockaddr, Span<byte> control, int flags, out int sockaddrLength, out int controlLength, out int messageFlags)
    {
        fixed (byte* d = data)
        fixed (byte* a = sockaddr)
        fixed (byte* c = control)
        {
            var iov = stackalloc long[2] { (long)d, data.Length };
            var msg = stackalloc long[MessageHeader.Length / 8];
            FillMessageHeader(msg, iov, sockaddr.IsEmpty ? null : a, sockaddr.Length, control.IsEmpty ? null : c, control.Length);
            var r = (int)LibC.Syscall(SyscallNumber.RecvMsg, fd.DangerousGetHandle(), (long)msg, flags);
            sockaddrLength = (int)msg[MessageHeader.NameLengthOffset / 8];
            controlLength = (int)msg[MessageHeader.ControlLengthOffset / 8];
            messageFlags = (int)msg[MessageHeader.FlagsOffset / 8];
            return r;
        }
    }

    // struct msghdr (MessageHeader) as seven longs: every field sits at a multiple of 8.
    private static void FillMessageHeader(long* msg, long* iov, byte* sockaddr, int sockaddrLength, byte* control, int controlLength)
    {
        msg[MessageHeader.NameOffset / 8] = (long)sockaddr;
        msg[MessageHeader.NameLengthOffset / 8] = sockaddrLength;
        msg[MessageHeader.IovOffset / 8] = (long)iov;
        msg[MessageHeader.IovLengthOffset / 8] = 1;
        msg[MessageHeader.ControlOffset / 8] = (long)control;
        msg[MessageHeader.ControlLengthOffset / 8] = controlLength;
        msg[MessageHeader.FlagsOffset / 8] = 0;
    }

    /// <summary>Waits up to <paramref name="timeoutMilliseconds"/> for <paramref name="events"/> (POLLIN 1, POLLOUT 4); returns revents, 0 on timeout, or <c>-errno</c>.</summary>
    public static int Poll(SafeHandle fd, short events, int timeoutMilliseconds)
    {
        long pfd = 0;
        var p = (int*)&pfd;
        p[0] = (int)fd.DangerousGetHandle();
        ((short*)p)[2] = events;
        var r = LibC.Syscall(SyscallNumber.Poll, (long)&pfd, 1, timeoutMilliseconds);
        return r <= 0 ? (int)r : ((short*)p)[3];
    }

    /// <summary>The file status flags (F_GETFL: O_NONBLOCK, ...) of an fd, or <c>-errno</c>.</summary>
    public static int GetStatusFlags(SafeHandle fd) => (int)LibC.Syscall(SyscallNumber.Fcntl, fd.DangerousGetHandle(), 3 /* F_GETFL */);

    /// <summary>F_SETFL: sets the file status flags (O_NONBLOCK, ...) of the open file description; returns 0 or <c>-errno</c>.</summary>
    public static int SetStatusFlags(SafeHandle fd, int flags) => (int)LibC.Syscall(SyscallNumber.Fcntl, fd.DangerousGetHandle(), 4 /* F_SETFL */, flags);

    /// <summary>shutdown(2) with SHUT_RDWR; returns 0 or <c>-errno</c>. On a TCP socket in SYN_SENT it aborts the connect (state CLOSE, ECONNRESET pending).</summary>
    public static int ShutdownBoth(SafeHandle fd) => (int)LibC.Syscall(SyscallNumber.Shutdown, fd.DangerousGetHandle(), 2 /* SHUT_RDWR */);

    /// <summary>
    /// SO_PEERCRED of a connected Unix socket of doppel's own: the process id, user id and group id
    /// of the peer at connect time (<c>struct ucred { pid_t pid; uid_t uid; gid_t gid; }</c>,
    /// 12 bytes); null when the option cannot be read.
    /// </summary>
    public static (int ProcessId, uint UserId, uint GroupId)? GetPeerCredentials(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        Span<byte> ucred = stackalloc byte[UcredLength];
        try
        {
            if (socket.GetRawSocketOption(SolSocket, SoPeerCred, ucred) < UcredLength)
            {
                return null;
            }
        }
        catch (SocketException)
        {
            return null;
        }

        return (BinaryPrimitives.ReadInt32LittleEndian(ucred), BinaryPrimitives.ReadUInt32LittleEndian(ucred[4..]), BinaryPrimitives.ReadUInt32LittleEndian(ucred[8..]));
    }

    /// <summary>getsockopt(SO_ERROR): the pending socket error (which the call clears), 0 for none, or <c>-errno</c> of the call itself.</summary>
    public static int TakeError(SafeHandle fd) => GetIntOption(fd, SoError);

    /// <summary>SO_SNDTIMEO of a socket (zero: none; a blocking connect honours it too), or null when it cannot be read.</summary>
    public static TimeSpan? GetSendTimeout(SafeHandle fd) => GetTimeout(fd, SoSndTimeo);

    /// <summary>SO_RCVTIMEO of a socket (zero: none; a blocking accept honours it, then fails with EAGAIN), or null when it cannot be read.</summary>
    public static TimeSpan? GetReceiveTimeout(SafeHandle fd) => GetTimeout(fd, SoRcvTimeo);

    /// <summary>The TCP state (tcpi_state of TCP_INFO: <see cref="TcpSynSent"/>, <see cref="TcpClose"/>, ...) of a TCP socket, or <c>-errno</c>.</summary>
    public static int GetTcpState(SafeHandle fd)
    {
        var info = stackalloc byte[8];
        var length = 8;
        var r = LibC.Syscall(SyscallNumber.GetSockOpt, fd.DangerousGetHandle(), IpProtoTcp, TcpInfo, (long)info, (long)&length);
        return r < 0 ? (int)r : info[0];
    }

    private static int GetName(int nr, SafeHandle fd, Span<byte> buffer)
    {
        var length = buffer.Length;
        fixed (byte* p = buffer)
        {
            var r = LibC.Syscall(nr, fd.DangerousGetHandle(), (long)p, (long)&length);
            return r < 0 ? (int)r : length;
        }
    }

    private static TimeSpan? GetTimeout(SafeHandle fd, int option)
    {
        var timeval = stackalloc long[2];
        var length = 16;
        var r = LibC.Syscall(SyscallNumber.GetSockOpt, fd.DangerousGetHandle(), SolSocket, option, (long)timeval, (long)&length);
        return r < 0 ? null : TimeSpan.FromSeconds(timeval[0]) + TimeSpan.FromMicroseconds(timeval[1]);
    }

    private static int GetIntOption(SafeHandle fd, int option)
    {
        var value = 0;
        var length = sizeof(int);
        var r = LibC.Syscall(SyscallNumber.GetSockOpt, fd.DangerousGetHandle(), SolSocket, option, (long)&value, (long)&length);
        return r < 0 ? (int)r : value;
    }
}
