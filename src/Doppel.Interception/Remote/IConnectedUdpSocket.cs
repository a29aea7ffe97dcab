using System.Net;

namespace Doppel.Interception.Remote;

/// <summary>
/// The app's own UDP socket after the supervisor connected it to a stand-in, held by the remote
/// side so that it can hand the app an error the pod's kernel would have set on the socket:
/// an ICMP port unreachable makes a connected UDP socket's next recv/send fail with ECONNREFUSED
/// (Linux <c>__udp4_lib_err</c> / <c>__udp6_lib_err</c>; only connected sockets without
/// IP_RECVERR get it). The owner disposes it when done.
/// </summary>
public interface IConnectedUdpSocket : IDisposable
{
    /// <summary>
    /// Whether the app still holds this socket (at the fd it connected with) and it is still
    /// connected to <paramref name="standIn"/>; false once it closed or re-connected it, or exited.
    /// </summary>
    bool IsConnectedTo(IPEndPoint standIn);

    /// <summary>
    /// Sends an empty datagram from the app's socket to its connected peer (the stand-in); false
    /// when the app no longer holds the socket or the send failed. When the stand-in port matches
    /// no socket at that moment, the loopback kernel answers with its own ICMP port unreachable,
    /// which sets ECONNREFUSED on the app's socket (usually before the send returns).
    /// </summary>
    bool SendEmpty();
}
