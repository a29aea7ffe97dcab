using System.Net.Sockets;
using Doppel.Protocol.V1;

namespace Doppel.Agent.Services;

/// <summary>
/// The Linux errno behind a .NET <see cref="SocketError"/> (which uses Windows' numbering on every
/// platform), so the app sees exactly what its own connect/send/recv would have returned.
/// </summary>
internal static class SocketErrnos
{
    public const int EPIPE = 32;
    public const int EMSGSIZE = 90;
    public const int EPROTONOSUPPORT = 93;
    public const int EAFNOSUPPORT = 97;
    public const int EADDRINUSE = 98;
    public const int EADDRNOTAVAIL = 99;
    public const int ENETDOWN = 100;
    public const int ENETUNREACH = 101;
    public const int ENETRESET = 102;
    public const int ECONNABORTED = 103;
    public const int ECONNRESET = 104;
    public const int ENOBUFS = 105;
    public const int EISCONN = 106;
    public const int ENOTCONN = 107;
    public const int ETIMEDOUT = 110;
    public const int ECONNREFUSED = 111;
    public const int EHOSTDOWN = 112;
    public const int EHOSTUNREACH = 113;
    public const int ECANCELED = 125;

    /// <summary>The errno for <paramref name="error"/>; EIO for anything without a Linux counterpart.</summary>
    public static int Of(SocketError error) => error switch
    {
        SocketError.ConnectionRefused => ECONNREFUSED,
        SocketError.TimedOut => ETIMEDOUT,
        SocketError.NetworkUnreachable => ENETUNREACH,
        SocketError.HostUnreachable => EHOSTUNREACH,
        SocketError.HostDown => EHOSTDOWN,
        SocketError.NetworkDown => ENETDOWN,
        SocketError.NetworkReset => ENETRESET,
        SocketError.ConnectionReset => ECONNRESET,
        SocketError.ConnectionAborted => ECONNABORTED,
        SocketError.Shutdown => EPIPE,
        SocketError.AddressNotAvailable => EADDRNOTAVAIL,
        SocketError.AddressAlreadyInUse => EADDRINUSE,
        SocketError.AddressFamilyNotSupported => EAFNOSUPPORT,
        SocketError.ProtocolNotSupported => EPROTONOSUPPORT,
        SocketError.MessageSize => EMSGSIZE,
        SocketError.NoBufferSpaceAvailable => ENOBUFS,
        SocketError.IsConnected => EISCONN,
        SocketError.NotConnected => ENOTCONN,
        SocketError.AccessDenied => Linux.Native.Errno.EACCES,
        SocketError.InvalidArgument => Linux.Native.Errno.EINVAL,
        SocketError.WouldBlock or SocketError.TryAgain => Linux.Native.Errno.EAGAIN,
        SocketError.OperationAborted => ECANCELED,
        _ => Linux.Native.Errno.EIO,
    };

    /// <summary>A <see cref="PosixError"/> for a failed socket call.</summary>
    public static PosixError From(SocketException e) => PosixErrors.Of(Of(e.SocketErrorCode));
}
