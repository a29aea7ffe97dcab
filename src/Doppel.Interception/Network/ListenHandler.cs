using System.Collections.Concurrent;
using Doppel.Interception.Policy;
using Doppel.Interception.Supervision;
using Doppel.Linux.Native;
using Doppel.Linux.Processes;
using Doppel.Linux.Sockets;

namespace Doppel.Interception.Network;

/// <summary>
/// bind and listen: the ports the app serves. A bind the policy remaps (e.g. port 80 for a
/// non-root user) is carried out on a duplicate of the app's socket with the new port; listen
/// reports the real local endpoint together with the port the app asked for. When no
/// <see cref="OutgoingHandler"/> traps getpeername (outgoing traffic off), this handler does, only
/// to answer the original client on a socket accepted from the session's delivery
/// (<see cref="SocketNameAnswer.DeliveredPeer"/>).
/// </summary>
internal sealed class ListenHandler(IInterceptionPolicy policy, bool answersPeers = false) : ISyscallHandler
{
    // socket inode -> the port the app asked for, when the bind was remapped
    private readonly ConcurrentDictionary<ulong, int> _requestedPorts = new();

    public IEnumerable<int> SyscallNumbers => answersPeers
        ? [SyscallNumber.Bind, SyscallNumber.Listen, SyscallNumber.GetPeerName]
        : [SyscallNumber.Bind, SyscallNumber.Listen];

    public ValueTask<HandlerResult> HandleAsync(Notification n, CancellationToken cancellationToken) => new(n.Nr switch
    {
        SyscallNumber.Bind => Bind(n),
        SyscallNumber.Listen => Listen(n),
        _ => GetPeerName(n),
    });

    private HandlerResult GetPeerName(Notification n)
    {
        using var dup = Pidfd.TryGetFd(n.ThreadId, n.ArgInt(0), out _);
        return dup is null ? n.Continue() : SocketNameAnswer.DeliveredPeer(n, dup, policy) ?? n.Continue();
    }

    private HandlerResult Bind(Notification n)
    {
        var length = (int)Math.Min(n.Arg(2), SockAddr.MaxLength);
        Span<byte> raw = stackalloc byte[SockAddr.MaxLength];
        if (length < 2 || !n.Read(n.Arg(1), raw[..length]) || SockAddr.Parse(raw[..length]) is not { Port: not 0 } requested || !n.IsValid())
        {
            return n.Continue();
        }

        using var dup = Pidfd.TryGetFd(n.ThreadId, n.ArgInt(0), out _);
        if (dup is null)
        {
            return n.Continue();
        }

        var type = SocketCalls.GetSocketType(dup) & 0xf;
        if (type is not (SocketCalls.SockStream or SocketCalls.SockDgram))
        {
            return n.Continue();
        }

        var port = policy.MapBindPort(type == SocketCalls.SockStream ? Transport.Tcp : Transport.Udp, requested);
        if (port == requested.Port)
        {
            return n.Continue();
        }

        var address = SockAddr.Format(new System.Net.IPEndPoint(requested.Address, port), SocketCalls.GetSocketDomain(dup));
        if (address is null)
        {
            return n.Continue();
        }

        var result = SocketCalls.Bind(dup, address);
        if (result == 0)
        {
            _requestedPorts[FileCalls.GetInode(dup)] = requested.Port;
        }
        else
        {
            policy.OnBindMoveFailed(type == SocketCalls.SockStream ? Transport.Tcp : Transport.Udp, requested, port, -result);
        }

        return result == 0 ? n.Return(0) : n.Fail(-result);
    }

    private HandlerResult Listen(Notification n)
    {
        using var dup = Pidfd.TryGetFd(n.ThreadId, n.ArgInt(0), out _);
        if (dup is null || (SocketCalls.GetSocketType(dup) & 0xf) != SocketCalls.SockStream)
        {
            return n.Continue();
        }

        Span<byte> raw = stackalloc byte[SockAddr.MaxLength];
        var length = SocketCalls.GetSockName(dup, raw);
        if (length > 0 && SockAddr.Parse(raw[..length]) is { } local)
        {
            // Unbound: the kernel picks an ephemeral port inside listen(); not reported.
            if (local.Port == 0)
            {
                return n.Continue();
            }

            var inode = FileCalls.GetInode(dup);
            policy.OnListening(local, _requestedPorts.TryGetValue(inode, out var requested) ? requested : local.Port);
        }

        return n.Continue();
    }
}
