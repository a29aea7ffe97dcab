using System.Net;

namespace Doppel.Interception.Remote;

/// <summary>
/// The end of a remote TCP connect: a loopback <see cref="StandIn"/> that relays to the destination,
/// or the errno the pod's own connect ended with (ECONNREFUSED, EHOSTUNREACH, ENETUNREACH,
/// ETIMEDOUT, ...), which the app sees as its connect's result or in SO_ERROR.
/// </summary>
public readonly record struct TcpConnectOutcome(IPEndPoint? StandIn, int Errno)
{
    /// <summary>Connected: the app's socket is to be connected to <paramref name="standIn"/>.</summary>
    public static TcpConnectOutcome Connected(IPEndPoint standIn) => new(standIn, 0);

    /// <summary>Not connected; <paramref name="errno"/> is positive.</summary>
    public static TcpConnectOutcome Failed(int errno) => new(null, errno);
}
