using System.Buffers.Binary;
using System.Net;
using Doppel.Interception.Policy;
using Doppel.Interception.Supervision;
using Doppel.Linux.Native;
using Doppel.Linux.Processes;
using Doppel.Linux.Sockets;
using Microsoft.Win32.SafeHandles;

namespace Doppel.Interception.Network;

/// <summary>
/// Unconnected UDP: datagrams with a remote destination are sent from a duplicate of the app's
/// socket to the destination's loopback relay; datagrams arriving from a relay are received on
/// the duplicate and handed to the app with the destination as their source, because
/// resolvers drop replies from any other address.
/// <code>
///   app: sendto(fd, q, 192.0.2.53:53) ─► sendto(dup, q, 127.0.0.1:R)  ─► relay R ─► pod DNS
///   app: recvfrom(fd, &amp;from) ◄─ from = 192.0.2.53:53 ◄─ recv(dup) from 127.0.0.1:R ◄─┘
/// </code>
/// </summary>
internal sealed partial class OutgoingHandler
{
    private const int MaxDatagram = 65535;
    private const int MaxControl = 4096;
    private const int MsgHdrLength = MessageHeader.Length;
    private const int MmsgHdrLength = MessageHeader.MmsgLength;
    private const int MsgDontWait = 0x40;
    private const int MsgFastOpen = 0x20000000;

    private ValueTask<HandlerResult> SendToAsync(Notification n, CancellationToken cancellationToken)
    {
        var target = ReadDestination(n, n.Arg(4), (int)Math.Min(n.Arg(5), SockAddr.MaxLength));
        if (target is not { } destination)
        {
            return new(n.Continue());
        }

        var dup = Pidfd.TryGetFd(n.ThreadId, n.ArgInt(0), out _);
        if (dup is null)
        {
            return new(n.Continue());
        }

        var type = SocketCalls.GetSocketType(dup) & 0xf;
        if (type == SocketCalls.SockStream && (n.ArgInt(3) & MsgFastOpen) != 0)
        {
            return FastOpenAsync(n, dup, destination, cancellationToken);
        }

        var early = type == SocketCalls.SockDgram ? Decide(n, Transport.Udp, destination) : n.Continue();
        if (early is not null)
        {
            dup.Dispose();
            return new(early.Value);
        }

        var payload = n.Arg(2) <= MaxDatagram ? new byte[n.Arg(2)] : null;
        if (payload is null || !n.Read(n.Arg(1), payload))
        {
            dup.Dispose();
            return new(payload is null ? n.Fail(Errno.EMSGSIZE) : n.Fail(Errno.EFAULT));
        }

        return SendAsync(n, dup, [(destination, payload, 0UL, 0UL)], n.ArgInt(3), single: true, cancellationToken);
    }

    /// <summary>
    /// TCP Fast Open: sendto(MSG_FASTOPEN) connects and sends in one call. A remote destination is
    /// connected like a connect() (then the data is sent); otherwise it would leave unredirected.
    /// </summary>
    private ValueTask<HandlerResult> FastOpenAsync(Notification n, SafeFileHandle dup, IPEndPoint destination, CancellationToken cancellationToken)
    {
        if (Decide(n, Transport.Tcp, destination) is { } answer)
        {
            dup.Dispose();
            return new(answer);
        }

        return FastOpenRemoteAsync(n, dup, destination, cancellationToken);
    }

    private async ValueTask<HandlerResult> FastOpenRemoteAsync(Notification n, SafeFileHandle dup, IPEndPoint destination, CancellationToken cancellationToken)
    {
        using (dup)
        {
            var payload = new byte[Math.Min(n.Arg(2), MaxDatagram)];
            if (!n.Read(n.Arg(1), payload))
            {
                return n.Fail(Errno.EFAULT);
            }

            var connected = await ConnectDuplicateAsync(n, dup, destination, Transport.Tcp, cancellationToken).ConfigureAwait(false);
            if (connected != 0)
            {
                return n.Fail(-connected); // EINPROGRESS on a non-blocking socket: nothing sent yet
            }

            var sent = SocketCalls.SendTo(dup, payload, n.ArgInt(3) & ~MsgFastOpen, []);
            return sent >= 0 ? n.Return(sent) : n.Fail(-sent);
        }
    }

    private ValueTask<HandlerResult> SendMsgAsync(Notification n, CancellationToken cancellationToken)
    {
        Span<byte> header = stackalloc byte[MsgHdrLength];
        if (!n.Read(n.Arg(1), header))
        {
            return new(n.Continue());
        }

        var name = BinaryPrimitives.ReadUInt64LittleEndian(header);
        var target = name == 0 ? null : ReadDestination(n, name, (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(header[8..]), SockAddr.MaxLength));
        if (target is not { } destination)
        {
            return new(n.Continue());
        }

        var dup = UdpSocket(n);
        if (dup is null)
        {
            return new(n.Continue());
        }

        var early = Decide(n, Transport.Udp, destination);
        if (early is not null)
        {
            dup.Dispose();
            return new(early.Value);
        }

        var payload = Gather(n, BinaryPrimitives.ReadUInt64LittleEndian(header[16..]), BinaryPrimitives.ReadUInt64LittleEndian(header[24..]));
        if (payload is null)
        {
            dup.Dispose();
            return new(n.Fail(Errno.EMSGSIZE));
        }

        return SendAsync(
            n, dup, [(destination, payload, BinaryPrimitives.ReadUInt64LittleEndian(header[32..]), BinaryPrimitives.ReadUInt64LittleEndian(header[40..]))],
            n.ArgInt(2), single: true, cancellationToken);
    }

    private ValueTask<HandlerResult> SendMmsgAsync(Notification n, CancellationToken cancellationToken)
    {
        var count = (int)Math.Min(n.Arg(2), 1024);
        var headers = new byte[count * MmsgHdrLength];
        if (count == 0 || !n.Read(n.Arg(1), headers))
        {
            return new(n.Continue());
        }

        var messages = new List<(IPEndPoint?, byte[], ulong, ulong)>();
        var anyRemote = false;
        for (var i = 0; i < count; i++)
        {
            var header = headers.AsSpan(i * MmsgHdrLength, MsgHdrLength);
            var name = BinaryPrimitives.ReadUInt64LittleEndian(header);
            var destination = name == 0 ? null : ReadDestination(n, name, (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(header[8..]), SockAddr.MaxLength));
            anyRemote |= destination is not null && policy.DecideOutgoing(Transport.Udp, destination) != InterceptionDecision.Local;
            var payload = Gather(n, BinaryPrimitives.ReadUInt64LittleEndian(header[16..]), BinaryPrimitives.ReadUInt64LittleEndian(header[24..]));
            if (payload is null)
            {
                return new(n.Continue()); // let the kernel report the oversized or unreadable message
            }

            messages.Add((destination, payload, BinaryPrimitives.ReadUInt64LittleEndian(header[32..]), BinaryPrimitives.ReadUInt64LittleEndian(header[40..])));
        }

        var dup = anyRemote ? UdpSocket(n) : null;
        return dup is null ? new(n.Continue()) : SendAsync(n, dup, messages, n.ArgInt(3), single: false, cancellationToken);
    }

    /// <summary>
    /// Sends each message from the duplicate: remote destinations through their relay, others to
    /// their own address or (no address) to the connected peer. For sendmmsg, writes msg_len back.
    /// </summary>
    private async ValueTask<HandlerResult> SendAsync(
        Notification n, SafeFileHandle dup, List<(IPEndPoint? Destination, byte[] Payload, ulong Control, ulong ControlLength)> messages,
        int flags, bool single, CancellationToken cancellationToken)
    {
        using (dup)
        {
            var inode = FileCalls.GetInode(dup);
            var family = SocketCalls.GetSocketDomain(dup);
            var sent = 0;
            for (var i = 0; i < messages.Count; i++)
            {
                var (destination, payload, control, controlLength) = messages[i];
                byte[]? address = null;
                if (destination is not null)
                {
                    var decision = policy.DecideOutgoing(Transport.Udp, destination);
                    if (decision == InterceptionDecision.Remote)
                    {
                        var relay = await remote.GetUdpRelayAsync(destination, cancellationToken).ConfigureAwait(false);
                        address = relay is null ? null : SockAddr.Format(relay, family);
                        if (address is null)
                        {
                            return sent > 0 ? n.Return(sent) : n.Fail(Errno.ENETUNREACH);
                        }

                        table.MarkUdp(inode, relay!, destination);
                    }
                    else if (decision == InterceptionDecision.Local)
                    {
                        address = SockAddr.Format(destination, family);
                    }
                    else
                    {
                        return sent > 0 ? n.Return(sent) : n.Fail(DecisionErrnos.ForNetwork(decision) ?? Errno.ECONNREFUSED);
                    }
                }

                var controlBytes = new byte[Math.Min(controlLength, MaxControl)];
                if (controlBytes.Length > 0 && !n.Read(control, controlBytes))
                {
                    return n.Fail(Errno.EFAULT);
                }

                if (!n.IsValid())
                {
                    return n.Continue();
                }

                var r = controlBytes.Length == 0 && address is not null
                    ? SocketCalls.SendTo(dup, payload, flags, address)
                    : SocketCalls.SendMsg(dup, payload, address, controlBytes, flags);
                if (r < 0)
                {
                    return sent > 0 ? n.Return(sent) : n.Fail(-r);
                }

                if (single)
                {
                    return n.Return(r);
                }

                var length32 = new byte[4];
                BinaryPrimitives.WriteUInt32LittleEndian(length32, (uint)r);
                n.Write(n.Arg(1) + (ulong)(i * MmsgHdrLength) + MsgHdrLength, length32);
                sent++;
            }

            return n.Return(sent);
        }
    }

    private static Task<bool> WaitReadableAsync(Notification n, SafeFileHandle dup, CancellationToken cancellationToken)
        => Task.Factory.StartNew(
            () =>
            {
                while (!cancellationToken.IsCancellationRequested && n.IsValid())
                {
                    var revents = SocketCalls.Poll(dup, 1 /* POLLIN */, 100);
                    if (revents > 0)
                    {
                        return true;
                    }
                }

                return false;
            },
            cancellationToken,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

    /// <summary>Null when the policy sends the call to the pod; otherwise its answer: run it here, or fail it.</summary>
    private HandlerResult? Decide(Notification n, Transport transport, IPEndPoint destination)
    {
        var decision = policy.DecideOutgoing(transport, destination);
        return decision == InterceptionDecision.Remote ? null
            : DecisionErrnos.ForNetwork(decision) is { } errno ? n.Fail(errno)
            : n.Continue();
    }

    private static IPEndPoint? ReadDestination(Notification n, ulong address, int length)
    {
        Span<byte> raw = stackalloc byte[SockAddr.MaxLength];
        return length >= 2 && n.Read(address, raw[..length]) ? SockAddr.Parse(raw[..length]) : null;
    }

    /// <summary>A duplicate of the caller's fd when it is a datagram socket.</summary>
    private static SafeFileHandle? UdpSocket(Notification n)
    {
        var dup = Pidfd.TryGetFd(n.ThreadId, n.ArgInt(0), out _);
        if (dup is not null && (SocketCalls.GetSocketType(dup) & 0xf) != SocketCalls.SockDgram)
        {
            dup.Dispose();
            return null;
        }

        return dup;
    }

    /// <summary>The bytes of an iovec array, or null when unreadable or larger than a datagram.</summary>
    private static byte[]? Gather(Notification n, ulong address, ulong count)
    {
        var iov = ReadIov(n, address, count);
        var total = iov.Aggregate(0UL, (sum, v) => sum + v.Length);
        if (total > MaxDatagram)
        {
            return null;
        }

        var payload = new byte[total];
        var offset = 0;
        foreach (var (baseAddress, length) in iov)
        {
            if (length > 0 && !n.Read(baseAddress, payload.AsSpan(offset, (int)length)))
            {
                return null;
            }

            offset += (int)length;
        }

        return payload;
    }

    private static (ulong Base, ulong Length)[] ReadIov(Notification n, ulong address, ulong count)
    {
        count = Math.Min(count, 1024);
        var raw = new byte[count * 16];
        if (count == 0 || !n.Read(address, raw))
        {
            return [];
        }

        var iov = new (ulong, ulong)[count];
        for (var i = 0; i < (int)count; i++)
        {
            iov[i] = (BinaryPrimitives.ReadUInt64LittleEndian(raw.AsSpan(i * 16)), BinaryPrimitives.ReadUInt64LittleEndian(raw.AsSpan((i * 16) + 8)));
        }

        return iov;
    }
}
