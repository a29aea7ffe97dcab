namespace Doppel.Interception.Remote;

/// <summary>
/// The end of a remote TCP connect: the <see cref="StandIn"/> that relays to the destination
/// (its loopback endpoint and the pod-side address together), or the errno the pod's own connect
/// ended with (ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, ETIMEDOUT, ...), which the app sees as
/// its connect's result or in SO_ERROR.
/// </summary>
public readonly record struct TcpConnectOutcome(TcpStandIn? StandIn, int Errno)
{
    /// <summary>Connected: the app's socket is to be connected to <paramref name="standIn"/> and admitted there.</summary>
    public static TcpConnectOutcome Connected(TcpStandIn standIn) => new(standIn, 0);

    /// <summary>Not connected; <paramref name="errno"/> is positive.</summary>
    public static TcpConnectOutcome Failed(int errno) => new(null, errno);
}
