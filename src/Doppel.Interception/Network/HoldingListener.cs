using System.Net;
using System.Net.Sockets;
using Doppel.Linux.Namespaces;

namespace Doppel.Interception.Network;

/// <summary>
/// A loopback listener that never completes a handshake: where a non-blocking app socket waits,
/// in SYN_SENT, while the agent connects in the pod.
/// <code>
///   listen(backlog 0) + one connection of our own, never accepted: the accept queue is full
///   app's SYN ──► tcp_conn_request: sk_acceptq_is_full → dropped (LISTENOVERFLOWS), no RST
///   app socket: SYN_SENT, not writable, SO_ERROR 0; retransmits its SYN like any connect
///   agent connected: AnswerAsync — a socket bound to this same address connects to the app's
///   socket (simultaneous open): SYN_SENT → SYN_RECV → ESTABLISHED, writable, never CLOSE
/// </code>
/// A socket left unconnected would not do: a TCP socket in CLOSE polls as EPOLLOUT|EPOLLHUP, so an
/// event loop would take the connect as finished. Rules from net/ipv4/tcp_input.c
/// (tcp_conn_request, tcp_rcv_synsent_state_process) and include/net/sock.h (sk_acceptq_is_full:
/// ack_backlog &gt; max_ack_backlog); checked on kernel 6.18. One per intercepted process tree, in
/// its network namespace; it needs no privilege.
/// <para>
/// Every socket it makes later (the answering one, and the one that relays to the stand-in) is
/// made on a thread started by the constructor, which shares the constructing thread's network
/// namespace (a new thread copies its creator's namespaces; no setns, so no privilege): a socket
/// lives in the namespace of the thread that calls socket(), and the supervisor's own threads may
/// be elsewhere (the interception tests start the program in a namespace of its own). Made on one
/// of them, the answering socket sent its SYN to 127.0.0.1 of the wrong namespace, was refused,
/// and every connect fell back to the disconnect-and-reconnect switch.
/// </para>
/// </summary>
internal sealed class HoldingListener : IDisposable
{
    /// <summary>SOL_SOCKET / SO_REUSEPORT (include/uapi/asm-generic/socket.h, x86-64 and arm64).</summary>
    private const int SolSocket = 1;
    private const int SoReusePort = 15;

    /// <summary>How long our side of a simultaneous open may take over loopback before it is given up.</summary>
    private static readonly TimeSpan s_answerTimeout = TimeSpan.FromSeconds(5);

    private readonly Socket _listener;
    private readonly Socket _filler;
    private readonly NetworkNamespaceThread _sockets;

    /// <summary>Listens on 127.0.0.1 in the calling thread's network namespace.</summary>
    public HoldingListener()
    {
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

        // A listening port can be bound again (by AnswerAsync) only when both have SO_REUSEPORT
        // (net/ipv4/inet_connection_sock.c inet_bind_conflict; SO_REUSEADDR does not cover a listener).
        SetReusePort(_listener);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(0);
        EndPoint = (IPEndPoint)_listener.LocalEndPoint!;
        _filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _filler.Connect(EndPoint); // completes: the queue takes one; from now on it is full
        _sockets = NetworkNamespaceThread.Start(null, "doppel-holding");
    }

    /// <summary>The address to connect a waiting socket to.</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>
    /// Completes the connect of a socket waiting here, whose local address is
    /// <paramref name="waiting"/> (IPv4, or IPv4-mapped), by TCP simultaneous open (RFC 9293
    /// §3.5, figure 7): a socket bound to <see cref="EndPoint"/> connects to it; the waiting
    /// socket, in SYN_SENT towards exactly that address, takes the SYN and becomes ESTABLISHED
    /// without passing through CLOSE, so a poller never sees EPOLLHUP. Returns our end of the
    /// connection, or null when the waiting socket did not answer (it has left SYN_SENT).
    /// </summary>
    public async Task<Socket?> AnswerAsync(IPEndPoint waiting)
    {
        var target = waiting.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(waiting.Address.MapToIPv4(), waiting.Port) : waiting;
        Socket socket;
        try
        {
            socket = await NewSocketAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return null;
        }

        try
        {
            SetReusePort(socket);
            socket.Bind(EndPoint);
            using var timeout = new CancellationTokenSource(s_answerTimeout);
            await socket.ConnectAsync(target, timeout.Token).ConfigureAwait(false);
            socket.NoDelay = true;
            return socket;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            socket.Dispose();
            return null;
        }
    }

    /// <summary>
    /// A new IPv4 TCP socket in this listener's network namespace (that of the program), e.g. to
    /// reach a loopback stand-in there. Throws <see cref="SocketException"/> as socket() fails, and
    /// <see cref="ObjectDisposedException"/> once the listener is closed.
    /// </summary>
    public Task<Socket> NewSocketAsync() =>
        _sockets.RunAsync(static () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));

    /// <summary>Closes it (with the intercepted process tree); a socket still waiting there is refused at its next SYN.</summary>
    public void Dispose()
    {
        _filler.Dispose();
        _listener.Dispose();
        _sockets.Dispose();
    }

    private static void SetReusePort(Socket socket) => socket.SetRawSocketOption(SolSocket, SoReusePort, BitConverter.GetBytes(1));
}
