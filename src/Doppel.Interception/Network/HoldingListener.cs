using System.Net;
using System.Net.Sockets;

namespace Doppel.Interception.Network;

/// <summary>
/// A loopback listener that never completes a handshake: where a non-blocking app socket waits,
/// in SYN_SENT, while the agent connects in the pod.
/// <code>
///   listen(backlog 0) + one connection of our own, never accepted: the accept queue is full
///   app's SYN ──► tcp_conn_request: sk_acceptq_is_full → dropped (LISTENOVERFLOWS), no RST
///   app socket: SYN_SENT, not writable, SO_ERROR 0; retransmits its SYN like any connect
/// </code>
/// A socket left unconnected would not do: a TCP socket in CLOSE polls as EPOLLOUT|EPOLLHUP, so an
/// event loop would take the connect as finished. Rules from net/ipv4/tcp_input.c
/// (tcp_conn_request) and include/net/sock.h (sk_acceptq_is_full: ack_backlog &gt; max_ack_backlog);
/// checked on kernel 6.18. One per intercepted process tree, in its network namespace; it needs no
/// privilege.
/// </summary>
internal sealed class HoldingListener : IDisposable
{
    private readonly Socket _listener;
    private readonly Socket _filler;

    /// <summary>Listens on 127.0.0.1 in the calling thread's network namespace.</summary>
    public HoldingListener()
    {
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(0);
        EndPoint = (IPEndPoint)_listener.LocalEndPoint!;
        _filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _filler.Connect(EndPoint); // completes: the queue takes one; from now on it is full
    }

    /// <summary>The address to connect a waiting socket to.</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>Closes it (with the intercepted process tree); a socket still waiting there is refused at its next SYN.</summary>
    public void Dispose()
    {
        _filler.Dispose();
        _listener.Dispose();
    }
}
