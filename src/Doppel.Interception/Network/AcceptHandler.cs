using System.Buffers.Binary;
using Doppel.Interception.Policy;
using Doppel.Interception.Supervision;
using Doppel.Linux.Native;
using Doppel.Linux.Processes;
using Doppel.Linux.Sockets;
using Microsoft.Win32.SafeHandles;

namespace Doppel.Interception.Network;

/// <summary>
/// accept and accept4 with an address buffer (<see cref="SyscallFamilies.Accept"/>): on a listener
/// the session delivers whole TCP connections to, doppel accepts on the app's behalf and hands the
/// new socket over with ADDFD, so that the address written for a delivered connection is the
/// original client (<see cref="IInterceptionPolicy.OriginalClient"/>), not the session's relay on
/// loopback (seccomp has no hook after a continued call). Any other accept continues untouched.
/// <code>
///   accept4(listener, addr, addrlen, flags) ──trap──► listener delivered to? ──no──► continue
///     yes: non-blocking listener ──► accept4 on a duplicate now (EAGAIN as the kernel's)
///          blocking listener ──► a thread polls it (SO_RCVTIMEO → EAGAIN; a signal → ERESTARTSYS)
///     accepted socket: peer = OriginalClient(relay) ?? peer ──► *addr, *addrlen ──► ADDFD+SEND (fd number)
/// </code>
/// addrlen follows accept(2): the address is cut to the room given and its full length written
/// back. Limitation: when two of the app's threads wait in a blocking accept on one listener and
/// the kernel hands one connection to the other thread between the poll and doppel's accept,
/// doppel's accept blocks until the next connection; if the waiting thread is killed meanwhile,
/// that connection is closed.
/// </summary>
internal sealed class AcceptHandler(IInterceptionPolicy policy) : ISyscallHandler
{
    private const int SockNonBlock = 0x800;
    private const short PollIn = 1;

    // A thread in a killable-only seccomp wait is not woken by a signal: the waiting accept looks for one this often.
    private static readonly TimeSpan s_signalCheckInterval = TimeSpan.FromMilliseconds(50);

    public IEnumerable<int> SyscallNumbers => [SyscallNumber.Accept, SyscallNumber.Accept4];

    public ValueTask<HandlerResult> HandleAsync(Notification n, CancellationToken cancellationToken)
    {
        var flags = n.Nr == SyscallNumber.Accept4 ? n.ArgInt(3) : 0;
        if ((flags & ~(SockNonBlock | SocketCalls.SockCloexec)) != 0)
        {
            return new(n.Continue()); // EINVAL from the kernel
        }

        var dup = Pidfd.TryGetFd(n.ThreadId, n.ArgInt(0), out _);
        if (dup is null)
        {
            return new(n.Continue());
        }

        // The room is checked before accepting: a bad addrlen must not cost a connection.
        Span<byte> lengthBytes = stackalloc byte[4];
        var room = IsDeliveredTo(dup) && n.Read(n.Arg(2), lengthBytes) ? BinaryPrimitives.ReadInt32LittleEndian(lengthBytes) : -1;
        if (room < 0 || !n.IsValid())
        {
            dup.Dispose();
            return new(n.Continue()); // not ours, or EFAULT/EINVAL from the kernel
        }

        if ((SocketCalls.GetStatusFlags(dup) & SocketCalls.ONonBlock) != 0)
        {
            using (dup)
            {
                return new(Accept(n, dup, flags, room));
            }
        }

        return WaitAndAcceptAsync(n, dup, flags, room, cancellationToken);
    }

    private bool IsDeliveredTo(SafeFileHandle listener)
    {
        Span<byte> raw = stackalloc byte[SockAddr.MaxLength];
        var length = SocketCalls.GetSockName(listener, raw);
        return length > 0 && SockAddr.Parse(raw[..length]) is { } local && policy.DeliversTo(local);
    }

    /// <summary>A blocking accept: waits on a thread of its own (the supervisor's receive thread must go on).</summary>
    private async ValueTask<HandlerResult> WaitAndAcceptAsync(Notification n, SafeFileHandle dup, int flags, int room, CancellationToken cancellationToken)
    {
        using (dup)
        {
            return await Task.Factory.StartNew(() => WaitAndAccept(n, dup, flags, room, cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        }
    }

    private HandlerResult WaitAndAccept(Notification n, SafeFileHandle dup, int flags, int room, CancellationToken cancellationToken)
    {
        var timeout = SocketCalls.GetReceiveTimeout(dup) ?? TimeSpan.Zero;
        var deadline = timeout > TimeSpan.Zero ? DateTime.UtcNow + timeout : DateTime.MaxValue;
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                return n.Fail(Errno.EAGAIN);
            }

            var wait = left < s_signalCheckInterval ? left : s_signalCheckInterval;
            var ready = SocketCalls.Poll(dup, PollIn, (int)Math.Ceiling(wait.TotalMilliseconds));
            if (ready > 0)
            {
                return Accept(n, dup, flags, room);
            }

            if (cancellationToken.IsCancellationRequested || !n.IsValid())
            {
                return n.Continue();
            }

            // The kernel's blocking accept returns ERESTARTSYS on a signal (EINTR with SO_RCVTIMEO set).
            if (PendingSignals.InterruptErrno(n.ThreadId) is { } interrupt)
            {
                return n.Fail(timeout > TimeSpan.Zero ? Errno.EINTR : interrupt);
            }
        }
    }

    private HandlerResult Accept(Notification n, SafeFileHandle dup, int flags, int room)
    {
        Span<byte> peer = stackalloc byte[SockAddr.MaxLength];
        var fd = SocketCalls.Accept(dup, flags | SocketCalls.SockCloexec, peer, out var peerLength);
        if (fd < 0)
        {
            return n.Fail(-fd);
        }

        using var accepted = new SafeFileHandle(fd, ownsHandle: true);
        ReadOnlySpan<byte> address = peer[..Math.Min(peerLength, peer.Length)];
        if (SockAddr.Parse(address) is { } relay
            && policy.OriginalClient(relay) is { } client
            && SockAddr.Format(client, SocketCalls.GetSocketDomain(accepted)) is { } original)
        {
            address = original;
        }

        if (!SocketNameAnswer.WriteAddress(n, address, room))
        {
            return n.Fail(Errno.EFAULT);
        }

        var number = n.InjectAndReturn(accepted, closeOnExec: (flags & SocketCalls.SockCloexec) != 0);
        return number >= 0 ? HandlerResult.Answered : n.Fail(-number);
    }
}
