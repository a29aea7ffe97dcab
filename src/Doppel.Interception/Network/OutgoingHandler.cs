using System.Net;
using System.Net.Sockets;
using Doppel.Interception.Policy;
using Doppel.Interception.Remote;
using Doppel.Interception.Supervision;
using Doppel.Linux.Native;
using Doppel.Linux.Processes;
using Doppel.Linux.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Doppel.Interception.Network;

/// <summary>
/// connect, getpeername, getsockname and getsockopt(SO_ERROR). A remote TCP connect is carried out
/// on a duplicate of the app's socket (pidfd_getfd): same socket object, so the app's flags and
/// options stay; a non-blocking socket gets EINPROGRESS at once (OutgoingHandler.Connect.cs).
/// <code>
///   app: connect(fd, 192.0.2.10:80) ──trap──► supervisor: dup = pidfd_getfd(app, fd)
///                                                         connect(dup, 127.0.0.1:P)  (P from IRemote)
///   app ◄── 0 / -EINPROGRESS / -errno of the pod ─────────┘
///   app: getpeername(fd) ──trap──► answered 192.0.2.10:80 (by the socket's inode)
///   app: getsockname(fd) ──trap──► answered 0.0.0.0:(its own port)  (no 127.0.0.1 shows through)
/// </code>
/// getpeername of a socket the app accepted from a stolen whole-TCP connection the session delivers
/// answers the original client (<see cref="SocketNameAnswer.DeliveredPeer"/>).
/// </summary>
internal sealed partial class OutgoingHandler(IInterceptionPolicy policy, IRemote remote, RedirectTable table, HoldingListener? holding, ILogger logger) : ISyscallHandler
{
    public IEnumerable<int> SyscallNumbers =>
    [
        SyscallNumber.Connect, SyscallNumber.GetPeerName, SyscallNumber.GetSockName, SyscallNumber.GetSockOpt,
        SyscallNumber.SendTo, SyscallNumber.SendMsg, SyscallNumber.SendMmsg,
        SyscallNumber.RecvFrom, SyscallNumber.RecvMsg, SyscallNumber.RecvMmsg,
    ];

    public ValueTask<HandlerResult> HandleAsync(Notification notification, CancellationToken cancellationToken) => notification.Nr switch
    {
        SyscallNumber.Connect => ConnectAsync(notification, cancellationToken),
        SyscallNumber.GetPeerName => new(GetName(notification, peer: true)),
        SyscallNumber.GetSockName => new(GetName(notification, peer: false)),
        SyscallNumber.GetSockOpt => GetSocketErrorAsync(notification, cancellationToken),
        SyscallNumber.SendTo => SendToAsync(notification, cancellationToken),
        SyscallNumber.SendMsg => SendMsgAsync(notification, cancellationToken),
        SyscallNumber.SendMmsg => SendMmsgAsync(notification, cancellationToken),
        SyscallNumber.RecvFrom or SyscallNumber.RecvMsg or SyscallNumber.RecvMmsg => ReceiveAsync(notification, cancellationToken),
        _ => new(notification.Continue()),
    };

    private ValueTask<HandlerResult> ConnectAsync(Notification notification, CancellationToken cancellationToken)
    {
        var length = (int)Math.Min(notification.Arg(2), SockAddr.MaxLength);
        Span<byte> raw = stackalloc byte[SockAddr.MaxLength];
        if (!notification.Read(notification.Arg(1), raw[..length]))
        {
            return new(notification.Continue());
        }

        var destination = SockAddr.Parse(raw[..length]);
        if (destination is null || !notification.IsValid())
        {
            return new(notification.Continue());
        }

        var dup = Pidfd.TryGetFd(notification.ThreadId, notification.ArgInt(0), out _);
        if (dup is null)
        {
            return new(notification.Continue());
        }

        var type = SocketCalls.GetSocketType(dup) & 0xf;
        var transport = type == SocketCalls.SockStream ? Transport.Tcp : Transport.Udp;
        if (type is not (SocketCalls.SockStream or SocketCalls.SockDgram))
        {
            dup.Dispose();
            return new(notification.Continue());
        }

        if (Decide(notification, transport, destination) is { } answer)
        {
            dup.Dispose();
            return new(answer);
        }

        return transport == Transport.Tcp
            ? ConnectTcpAsync(notification, dup, destination, cancellationToken)
            : RedirectAsync(notification, dup, destination, transport, cancellationToken);
    }

    private async ValueTask<HandlerResult> RedirectAsync(
        Notification notification, SafeFileHandle dup, System.Net.IPEndPoint destination, Transport transport, CancellationToken cancellationToken)
    {
        using (dup)
        {
            var result = await ConnectDuplicateAsync(notification, dup, destination, transport, cancellationToken).ConfigureAwait(false);
            return result == 0 ? notification.Return(0) : notification.Fail(-result);
        }
    }

    /// <summary>
    /// Connects the duplicate of the app's socket to the destination's stand-in and records it,
    /// once the remote side has connected; returns 0 or <c>-errno</c> as the app's connect should.
    /// (UDP, TCP Fast Open and sockets that cannot wait at the holding listener.)
    /// </summary>
    private async ValueTask<int> ConnectDuplicateAsync(
        Notification notification, SafeFileHandle dup, System.Net.IPEndPoint destination, Transport transport, CancellationToken cancellationToken)
    {
        var inode = FileCalls.GetInode(dup);
        IPEndPoint? standIn;
        TcpStandIn? tcp = null;
        if (transport == Transport.Tcp)
        {
            var outcome = await remote.ConnectTcpAsync(destination, cancellationToken).ConfigureAwait(false);
            if (outcome.StandIn is null)
            {
                return -(outcome.Errno > 0 ? outcome.Errno : Errno.ECONNREFUSED);
            }

            tcp = outcome.StandIn;
            standIn = tcp.EndPoint;
        }
        else
        {
            standIn = await ConnectUdpAsync(notification, inode, destination, cancellationToken).ConfigureAwait(false);
        }

        if (standIn is null)
        {
            return -Errno.ECONNREFUSED;
        }

        var address = SockAddr.Format(standIn, SocketCalls.GetSocketDomain(dup));
        if (address is null)
        {
            return -Errno.ENETUNREACH;
        }

        var result = SocketCalls.Connect(dup, address);
        if (result is -Errno.EISCONN or -Errno.EALREADY && table.Get(inode)?.Destination.Equals(destination) == true)
        {
            // A restarted connect (the app was interrupted by a signal while we connected):
            // report what the kernel would for the original socket.
            return result == -Errno.EISCONN ? 0 : -Errno.EALREADY;
        }

        if (result is 0 or -Errno.EINPROGRESS)
        {
            table.Set(inode, new RedirectedSocket(destination, standIn, tcp?.PodLocalAddress));
            if (tcp is null)
            {
                table.MarkUdp(inode, standIn, destination);
            }
            else if (LocalAddress(dup) is { } source)
            {
                tcp.Admit(source); // the one peer the stand-in accepts
            }
        }

        logger.ConnectRedirected(notification.ThreadId, destination, standIn, result);
        return result;
    }

    /// <summary>
    /// The stand-in for a connected UDP socket: its own one when the app's socket can be reached
    /// again (so that the pod's ICMP errors can be handed to it), else the destination's shared relay.
    /// </summary>
    private ValueTask<IPEndPoint?> ConnectUdpAsync(Notification notification, ulong inode, IPEndPoint destination, CancellationToken cancellationToken)
    {
        var socket = AppUdpSocket.Open(notification.ThreadId, notification.ArgInt(0), inode);
        return socket is null
            ? remote.GetUdpRelayAsync(destination, cancellationToken)
            : remote.ConnectUdpAsync(destination, socket, cancellationToken);
    }

    /// <summary>
    /// getpeername/getsockname of a redirected socket. The peer is the remote destination. The
    /// local name is the remote side's own source address (the pod IP and port the destination
    /// sees) when its <see cref="TcpStandIn"/> knows it; otherwise the unspecified
    /// address of the destination's family with the socket's own port: an honest "not known
    /// here" that no app mistakes for a reachable address, where the loopback source would
    /// contradict the peer (a remote peer seen from 127.0.0.1).
    /// </summary>
    private HandlerResult GetName(Notification notification, bool peer)
    {
        using var dup = Pidfd.TryGetFd(notification.ThreadId, notification.ArgInt(0), out _);
        if (dup is null)
        {
            return notification.Continue();
        }

        var inode = FileCalls.GetInode(dup);
        var redirected = table.Get(inode);
        if (redirected is null)
        {
            return (peer ? SocketNameAnswer.DeliveredPeer(notification, dup, policy) : null) ?? notification.Continue();
        }

        // Still the socket we connected? (inode numbers are recycled)
        Span<byte> realPeer = stackalloc byte[SockAddr.MaxLength];
        var peerLength = SocketCalls.GetPeerName(dup, realPeer);
        if (peerLength <= 0 || SockAddr.Parse(realPeer[..peerLength]) is not { } actual || !actual.Equals(redirected.Peer))
        {
            if (peerLength != -Errno.ENOTCONN)
            {
                table.Remove(inode);
            }

            return notification.Continue();
        }

        IPEndPoint name;
        if (peer)
        {
            name = redirected.Destination;
        }
        else
        {
            Span<byte> local = stackalloc byte[SockAddr.MaxLength];
            var localLength = SocketCalls.GetSockName(dup, local);
            if (localLength <= 0 || SockAddr.Parse(local[..localLength]) is not { } source)
            {
                return notification.Continue();
            }

            var unspecified = redirected.Destination.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any;
            name = redirected.PodLocal ?? new IPEndPoint(unspecified, source.Port);
        }

        return SocketNameAnswer.Write(notification, dup, name);
    }
}
