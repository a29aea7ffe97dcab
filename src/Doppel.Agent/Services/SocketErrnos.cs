using System.Net.Sockets;
using Doppel.Linux.Native;
using Doppel.Protocol.V1;

namespace Doppel.Agent.Services;

/// <summary>
/// The Linux errno behind a .NET <see cref="SocketError"/> (which uses Windows' numbering on every
/// platform), so the app sees exactly what its own connect/send/recv would have returned.
/// </summary>
internal static class SocketErrnos
{
    /// <summary>The errno for <paramref name="error"/>; EIO for anything without a Linux counterpart.</summary>
    public static int Of(SocketError error) => error switch
    {
        SocketError.ConnectionRefused => Errno.ECONNREFUSED,
        SocketError.TimedOut => Errno.ETIMEDOUT,
        SocketError.NetworkUnreachable => Errno.ENETUNREACH,
        SocketError.HostUnreachable => Errno.EHOSTUNREACH,
        SocketError.HostDown => Errno.EHOSTDOWN,
        SocketError.NetworkDown => Errno.ENETDOWN,
        SocketError.NetworkReset => Errno.ENETRESET,
        SocketError.ConnectionReset => Errno.ECONNRESET,
        SocketError.ConnectionAborted => Errno.ECONNABORTED,
        SocketError.Shutdown => Errno.EPIPE,
        SocketError.AddressNotAvailable => Errno.EADDRNOTAVAIL,
        SocketError.AddressAlreadyInUse => Errno.EADDRINUSE,
        SocketError.AddressFamilyNotSupported => Errno.EAFNOSUPPORT,
        SocketError.ProtocolNotSupported => Errno.EPROTONOSUPPORT,
        SocketError.MessageSize => Errno.EMSGSIZE,
        SocketError.NoBufferSpaceAvailable => Errno.ENOBUFS,
        SocketError.IsConnected => Errno.EISCONN,
        SocketError.NotConnected => Errno.ENOTCONN,
        SocketError.AccessDenied => Errno.EACCES,
        SocketError.InvalidArgument => Errno.EINVAL,
        SocketError.WouldBlock or SocketError.TryAgain => Errno.EAGAIN,
        SocketError.OperationAborted => Errno.ECANCELED,
        _ => Errno.EIO,
    };

    /// <summary>A <see cref="PosixError"/> for a failed socket call.</summary>
    public static PosixError From(SocketException e) => PosixErrors.Of(Of(e.SocketErrorCode));
}
