using System.Buffers.Binary;
using Doppel.Interception.Supervision;
using Doppel.Linux.Native;
using Doppel.Linux.Processes;
using Doppel.Linux.Sockets;
using Microsoft.Win32.SafeHandles;

namespace Doppel.Interception.Network;

/// <summary>
/// The receive side of redirected UDP: recvfrom, recvmsg and recvmmsg on a socket that has
/// talked to a relay are carried out on the duplicate, and each datagram's source is rewritten
/// from the relay to the remote address it stands for.
/// </summary>
internal sealed partial class OutgoingHandler
{
    private const int MsgWaitForOne = 0x10000;

    // Sentinel of ReceiveOneAsync: the caller went away while we waited.
    private const int CallerGone = int.MinValue;

    /// <summary>Where one received datagram goes in the caller's memory.</summary>
    private sealed record ReceiveTarget(
        ulong Header, ulong NameAddress, ulong NameLengthAddress, (ulong Base, ulong Length)[] Iov, ulong ControlAddress, int ControlRoom);

    private ValueTask<HandlerResult> ReceiveAsync(Notification n, CancellationToken cancellationToken)
    {
        var dup = Pidfd.TryGetFd(n.ThreadId, n.ArgInt(0), out _);
        if (dup is null)
        {
            return new(n.Continue());
        }

        if (!table.IsUdpRedirected(FileCalls.GetInode(dup)))
        {
            dup.Dispose();
            return new(n.Continue());
        }

        return n.Nr switch
        {
            SyscallNumber.RecvFrom => ReceiveSingleAsync(n, dup, new ReceiveTarget(0, n.Arg(4), n.Arg(5), [(n.Arg(1), n.Arg(2))], 0, 0), n.ArgInt(3), cancellationToken),
            SyscallNumber.RecvMsg => ReceiveSingleAsync(n, dup, ReadMsgHdr(n, n.Arg(1)), n.ArgInt(2), cancellationToken),
            _ => ReceiveManyAsync(n, dup, cancellationToken),
        };
    }

    private async ValueTask<HandlerResult> ReceiveSingleAsync(Notification n, SafeFileHandle dup, ReceiveTarget? target, int flags, CancellationToken cancellationToken)
    {
        using (dup)
        {
            if (target is null)
            {
                return n.Fail(Errno.EFAULT);
            }

            if (target.NameAddress == 0)
            {
                return n.Continue(); // no source wanted: nothing to rewrite
            }

            var received = await ReceiveOneAsync(n, dup, target, flags, mayWait: true, cancellationToken).ConfigureAwait(false);
            return received == CallerGone ? n.Continue() : received < 0 ? n.Fail(-received) : n.Return(received);
        }
    }

    /// <summary>recvmmsg(fd, mmsghdr[], vlen, flags, timeout): the timeout is not honoured.</summary>
    private async ValueTask<HandlerResult> ReceiveManyAsync(Notification n, SafeFileHandle dup, CancellationToken cancellationToken)
    {
        using (dup)
        {
            var count = (int)Math.Min(n.Arg(2), 1024);
            var flags = n.ArgInt(3);
            var received = 0;
            for (var i = 0; i < count; i++)
            {
                var header = n.Arg(1) + (ulong)(i * MmsgHdrLength);
                var target = ReadMsgHdr(n, header);
                if (target is null)
                {
                    return received > 0 ? n.Return(received) : n.Fail(Errno.EFAULT);
                }

                var mayWait = i == 0 || (flags & MsgWaitForOne) == 0;
                var length = await ReceiveOneAsync(n, dup, target, flags, mayWait, cancellationToken).ConfigureAwait(false);
                if (length == CallerGone)
                {
                    return n.Continue();
                }

                if (length < 0)
                {
                    return received > 0 ? n.Return(received) : n.Fail(-length);
                }

                var length32 = new byte[4];
                BinaryPrimitives.WriteUInt32LittleEndian(length32, (uint)length);
                n.Write(header + MsgHdrLength, length32);
                received++;
            }

            return n.Return(received);
        }
    }

    private static ReceiveTarget? ReadMsgHdr(Notification n, ulong address)
    {
        var header = new byte[MsgHdrLength];
        if (!n.Read(address, header))
        {
            return null;
        }

        return new ReceiveTarget(
            address,
            BinaryPrimitives.ReadUInt64LittleEndian(header),
            address + 8,
            ReadIov(n, BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(16)), BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(24))),
            BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(32)),
            (int)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(40)), MaxControl));
    }

    /// <summary>
    /// Receives one datagram on the duplicate and writes it, its rewritten source and (recvmsg)
    /// its control data into the caller. Returns its length, <c>-errno</c>, or <see cref="CallerGone"/>.
    /// </summary>
    private async ValueTask<int> ReceiveOneAsync(Notification n, SafeFileHandle dup, ReceiveTarget target, int flags, bool mayWait, CancellationToken cancellationToken)
    {
        var lengthBytes = new byte[4];
        var room = 0;
        if (target.NameAddress != 0)
        {
            if (!n.Read(target.NameLengthAddress, lengthBytes))
            {
                return -Errno.EFAULT;
            }

            room = BinaryPrimitives.ReadInt32LittleEndian(lengthBytes);
        }

        var capacity = (int)Math.Min(target.Iov.Aggregate(0UL, (sum, v) => sum + v.Length), MaxDatagram);
        var nonBlocking = !mayWait || (flags & MsgDontWait) != 0 || (SocketCalls.GetStatusFlags(dup) & OpenFlags.NonBlock) != 0;
        if (!n.IsValid())
        {
            return CallerGone;
        }

        var data = new byte[capacity];
        var address = new byte[SockAddr.MaxLength];
        var control = new byte[target.ControlRoom];
        int received, addressLength, controlLength, messageFlags;
        while (true)
        {
            received = SocketCalls.RecvMsg(dup, data, address, control, (flags & ~MsgWaitForOne) | MsgDontWait, out addressLength, out controlLength, out messageFlags);
            if (received != -Errno.EAGAIN || nonBlocking)
            {
                break;
            }

            // A blocking receive: wait on a thread of its own, giving up when the app's call was
            // interrupted (then the notification is no longer valid).
            if (!await WaitReadableAsync(n, dup, cancellationToken).ConfigureAwait(false))
            {
                return CallerGone;
            }
        }

        if (received < 0)
        {
            return received;
        }

        var source = SockAddr.Parse(address.AsSpan(0, Math.Min(addressLength, address.Length)));
        var answerAddress = source is null
            ? address.AsSpan(0, Math.Min(addressLength, address.Length)).ToArray()
            : SockAddr.Format(table.RewriteSource(source), SocketCalls.GetSocketDomain(dup)) ?? [];
        if (!n.IsValid())
        {
            return CallerGone; // the datagram is lost: the caller went away meanwhile
        }

        var copied = 0;
        foreach (var (baseAddress, length) in target.Iov)
        {
            var chunk = (int)Math.Min(length, (ulong)(Math.Min(received, capacity) - copied));
            if (chunk <= 0)
            {
                break;
            }

            n.Write(baseAddress, data.AsSpan(copied, chunk));
            copied += chunk;
        }

        if (target.NameAddress != 0)
        {
            n.Write(target.NameAddress, answerAddress.AsSpan(0, Math.Max(0, Math.Min(room, answerAddress.Length))));
            BinaryPrimitives.WriteInt32LittleEndian(lengthBytes, answerAddress.Length);
            n.Write(target.NameLengthAddress, lengthBytes);
        }

        if (target.Header != 0)
        {
            var word = new byte[8];
            if (target.ControlRoom > 0)
            {
                n.Write(target.ControlAddress, control.AsSpan(0, Math.Min(controlLength, target.ControlRoom)));
            }

            BinaryPrimitives.WriteUInt64LittleEndian(word, (ulong)controlLength);
            n.Write(target.Header + 40, word);
            BinaryPrimitives.WriteInt32LittleEndian(word, messageFlags);
            n.Write(target.Header + 48, word.AsSpan(0, 4));
        }

        return received;
    }
}
