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

    /// <summary>connect(2) with a raw sockaddr; returns 0 or <c>-errno</c> (e.g. -EINPROGRESS).</summary>
    public static int Connect(SafeHandle fd, ReadOnlySpan<byte> sockaddr)
    {
        fixed (byte* p = sockaddr)
        {
            return (int)LibC.Syscall(SyscallNumber.Connect, fd.DangerousGetHandle(), (long)p, sockaddr.Length);
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

    private static int GetName(int nr, SafeHandle fd, Span<byte> buffer)
    {
        var length = buffer.Length;
        fixed (byte* p = buffer)
        {
            var r = LibC.Syscall(nr, fd.DangerousGetHandle(), (long)p, (long)&length);
            return r < 0 ? (int)r : length;
        }
    }

    private static int GetIntOption(SafeHandle fd, int option)
    {
        var value = 0;
        var length = sizeof(int);
        var r = LibC.Syscall(SyscallNumber.GetSockOpt, fd.DangerousGetHandle(), SolSocket, option, (long)&value, (long)&length);
        return r < 0 ? (int)r : value;
    }
}
