using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using Doppel.Interception.Policy;
using Doppel.Interception.Remote;
using Doppel.Interception.Supervision;
using Doppel.Linux.Native;
using Doppel.Linux.Processes;
using Doppel.Linux.Sockets;
using Microsoft.Win32.SafeHandles;

namespace Doppel.Interception.Network;

/// <summary>
/// A remote TCP connect that behaves like one in the pod: a non-blocking socket gets EINPROGRESS
/// at once and waits in SYN_SENT at the <see cref="HoldingListener"/> while the agent connects;
/// then it is connected (writable, SO_ERROR 0) or fails with the pod's errno.
/// <code>
///   app: connect(fd, dst) ─trap─► dup = pidfd_getfd; IRemote.ConnectTcpAsync(dst) starts
///        non-blocking: connect(dup, holding) → -EINPROGRESS ──► app (at once)
///        blocking: waits for the remote (at most SO_SNDTIMEO, then parked and -EINPROGRESS)
///   remote ok:   HoldingListener.AnswerAsync: simultaneous open from the holding address to the
///                app socket (SYN_SENT → ESTABLISHED); our end relayed to the stand-in
///   remote fail: shutdown(dup) → the app wakes (EPOLLOUT|EPOLLERR|EPOLLHUP);
///                getsockopt(fd, SOL_SOCKET, SO_ERROR) ─trap─► the pod's errno, once
///   app closes fd while waiting (seen every 200 ms) ──► the remote attempt is cancelled
/// </code>
/// shutdown on a SYN_SENT socket is tcp_disconnect (net/ipv4/af_inet.c inet_shutdown): state
/// CLOSE, sk_err ECONNRESET, pollers woken. A successful connect never takes that way: between
/// the disconnect and a new connect the socket would poll as EPOLLOUT|EPOLLHUP, which programs
/// that read poll's bits rather than SO_ERROR (curl) take for a failed connect. (Only when the
/// simultaneous open fails is the socket moved to the stand-in that way.) An app that asks
/// SO_ERROR during the switch is held until it has ended.
/// </summary>
internal sealed partial class OutgoingHandler
{
    /// <summary>How often a waiting connect checks that the app still has its socket.</summary>
    private static readonly TimeSpan s_closeCheckInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>How often a blocking connect that waits for the agent looks for a signal to the app's thread.</summary>
    private static readonly TimeSpan s_signalCheckInterval = TimeSpan.FromMilliseconds(50);

    private readonly ConcurrentDictionary<ulong, PendingConnect> _pending = new();

    private ValueTask<HandlerResult> ConnectTcpAsync(Notification n, SafeFileHandle dup, IPEndPoint destination, CancellationToken cancellationToken)
    {
        var inode = FileCalls.GetInode(dup);
        if (_pending.TryGetValue(inode, out var existing))
        {
            using (dup)
            {
                return ConnectAgainAsync(n, dup, existing, cancellationToken);
            }
        }

        if (table.Get(inode) is { } redirected && redirected.Destination.Equals(destination))
        {
            if (IsConnectedTo(dup, redirected.Peer))
            {
                // Already moved to its stand-in: what the kernel says of that (EISCONN for a connected socket).
                using (dup)
                {
                    return new(Restarted(n, dup, redirected));
                }
            }

            if (SocketCalls.GetTcpState(dup) == SocketCalls.TcpSynSent)
            {
                dup.Dispose();
                return new(n.Fail(Errno.EALREADY)); // its loopback handshake with the stand-in is still under way
            }
        }

        var flags = SocketCalls.GetStatusFlags(dup);
        if (flags < 0)
        {
            return RedirectAsync(n, dup, destination, Transport.Tcp, cancellationToken);
        }

        var pending = new PendingConnect(dup, inode, destination, n.ArgInt(0));
        _pending[inode] = pending;

        // Parked before the remote connect starts, so a quick outcome finds it parked.
        var nonBlocking = (flags & SocketCalls.ONonBlock) != 0;
        var parked = nonBlocking ? Park(pending, flags) : 0;
        var timeout = nonBlocking ? TimeSpan.Zero : SocketCalls.GetSendTimeout(dup) ?? TimeSpan.Zero;
        pending.Remote = StartRemote(pending);
        _ = SwitchWhenDoneAsync(pending);
        if (parked == -Errno.EINPROGRESS)
        {
            WatchForClose(n.ThreadId, pending);
            logger.ConnectPending(n.ThreadId, destination);
            return new(n.Fail(Errno.EINPROGRESS));
        }

        // Blocking, or (rare) a socket that cannot reach the holding listener (IPV6_V6ONLY): wait.
        return WaitAsync(n, pending, timeout, cancellationToken);
    }

    private async Task<TcpConnectOutcome> StartRemote(PendingConnect pending)
    {
        try
        {
            return await remote.ConnectTcpAsync(pending.Destination, pending.Abandon.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
        {
            return TcpConnectOutcome.Failed(Errno.ECONNREFUSED);
        }
    }

    /// <summary>
    /// A blocking connect: waits for the remote connect, at most for the socket's SO_SNDTIMEO, after
    /// which Linux answers EINPROGRESS and lets the connect go on (net/ipv4/af_inet.c
    /// __inet_stream_connect); doppel does the same, parking the socket meanwhile. A signal for the
    /// thread ends the wait with EINTR, as the kernel's interruptible wait would (the thread waits
    /// in a killable-only seccomp wait, so the supervisor looks for the signal every
    /// <see cref="s_signalCheckInterval"/>); the socket is parked too, so the app's usual answer to
    /// EINTR (poll for writable, then SO_ERROR) sees the connect go on.
    /// </summary>
    private async ValueTask<HandlerResult> WaitAsync(Notification n, PendingConnect pending, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = timeout > TimeSpan.Zero ? DateTime.UtcNow + timeout : DateTime.MaxValue;
        while (!pending.Settled.IsCompleted)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                if (ParkWaiting(n, pending) is { } parked)
                {
                    return parked ? n.Fail(Errno.EINPROGRESS) : n.Fail(Errno.EALREADY);
                }

                await pending.Settled.WaitAsync(cancellationToken).ConfigureAwait(false);
                break;
            }

            try
            {
                await pending.Settled.WaitAsync(left < s_signalCheckInterval ? left : s_signalCheckInterval, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                if (PendingSignals.HasDeliverable(n.ThreadId) && ParkWaiting(n, pending) is { } parked)
                {
                    return parked ? n.Fail(Errno.EINTR) : n.Fail(Errno.EALREADY);
                }
            }
        }

        var result = await pending.Settled.ConfigureAwait(false);
        return result == 0 ? n.Return(0) : n.Fail(-result);
    }

    /// <summary>
    /// Parks a blocking connect whose wait ends early (SO_SNDTIMEO, a signal) at the holding
    /// listener: true when it now waits there, false when it already did (a restarted call), null
    /// when it cannot be parked (its switch is under way, or the holding listener is out of reach),
    /// so the caller waits for the outcome instead.
    /// </summary>
    private bool? ParkWaiting(Notification n, PendingConnect pending)
    {
        lock (pending.Gate)
        {
            if (pending.Parked)
            {
                return false;
            }

            if (pending.Switching)
            {
                return null;
            }

            // O_NONBLOCK for a moment on the shared file description, so the connect to the holding
            // listener returns at once instead of blocking this thread (for SO_SNDTIMEO).
            var flags = SocketCalls.GetStatusFlags(pending.Dup);
            if (flags < 0)
            {
                return null;
            }

            SocketCalls.SetStatusFlags(pending.Dup, flags | SocketCalls.ONonBlock);
            var parked = Park(pending, flags | SocketCalls.ONonBlock);
            SocketCalls.SetStatusFlags(pending.Dup, flags);
            if (parked != -Errno.EINPROGRESS)
            {
                return null;
            }

            WatchForClose(n.ThreadId, pending);
            logger.ConnectPending(n.ThreadId, pending.Destination);
            return true;
        }
    }

    /// <summary>connect() again on a socket whose remote connect is under way or has failed.</summary>
    private ValueTask<HandlerResult> ConnectAgainAsync(Notification n, SafeFileHandle dup, PendingConnect pending, CancellationToken cancellationToken)
    {
        if (pending.Settled.IsCompleted)
        {
            // Linux reports a failed connect's error to the next connect and resets the socket.
            return new(Report(n, pending) is { } errno ? n.Fail(errno) : n.Fail(Errno.EALREADY));
        }

        var flags = SocketCalls.GetStatusFlags(dup);
        if (flags < 0 || (flags & SocketCalls.ONonBlock) != 0 || pending.Parked)
        {
            return new(n.Fail(Errno.EALREADY));
        }

        // A blocking connect restarted after a signal waits on.
        return WaitAsync(n, pending, SocketCalls.GetSendTimeout(dup) ?? TimeSpan.Zero, cancellationToken);
    }

    /// <summary>Connects the socket to the holding listener; returns -EINPROGRESS when it waits there.</summary>
    private int Park(PendingConnect pending, int flags)
    {
        if ((flags & SocketCalls.ONonBlock) == 0 || holding is null)
        {
            return -Errno.EINVAL;
        }

        var address = SockAddr.Format(holding.EndPoint, SocketCalls.GetSocketDomain(pending.Dup));
        var result = address is null ? -Errno.ENETUNREACH : SocketCalls.Connect(pending.Dup, address);
        pending.Parked = result == -Errno.EINPROGRESS;
        return result;
    }

    private async Task SwitchWhenDoneAsync(PendingConnect pending)
    {
        var outcome = await pending.Remote.ConfigureAwait(false);
        lock (pending.Gate)
        {
            pending.Switching = true;
        }

        if (pending.Abandon.IsCancellationRequested)
        {
            pending.Settle(-Errno.ECONNRESET);
            Forget(pending);
            return;
        }

        // Formatted beforehand: should the fallback disconnect be needed, it and the new connect run
        // back to back (between them the socket polls as EPOLLOUT|EPOLLHUP).
        var address = outcome.StandIn is { } target ? SockAddr.Format(target.EndPoint, SocketCalls.GetSocketDomain(pending.Dup)) : null;
        var connected = -Errno.ENETUNREACH;
        if (pending.Parked)
        {
            if (SocketCalls.GetTcpState(pending.Dup) != SocketCalls.TcpSynSent)
            {
                // The local kernel ended the wait itself (its own SYN retries ran out): the app has
                // its ETIMEDOUT already; a late remote connection has nobody to go to.
                pending.Settle(-Errno.ETIMEDOUT);
                Forget(pending);
                return;
            }

            if (outcome.StandIn is { } held && await AnswerHeldAsync(pending, held).ConfigureAwait(false))
            {
                logger.ConnectSwitched(pending.Destination, held.EndPoint, 0);
                pending.Settle(0);
                Forget(pending);
                return;
            }

            SocketCalls.ShutdownBoth(pending.Dup);
            if (address is not null)
            {
                SocketCalls.TakeError(pending.Dup); // the ECONNRESET of the disconnect is none of the app's business
                connected = SocketCalls.Connect(pending.Dup, address);
            }
        }
        else if (address is not null)
        {
            connected = SocketCalls.Connect(pending.Dup, address);
        }

        if (outcome.StandIn is { } standIn)
        {
            var result = Record(pending.Dup, pending.Inode, pending.Destination, standIn, connected);
            logger.ConnectSwitched(pending.Destination, standIn.EndPoint, result);
            pending.Settle(result);
            Forget(pending);
            return;
        }

        var errno = outcome.Errno > 0 ? outcome.Errno : Errno.ECONNREFUSED;
        logger.ConnectFailed(pending.Destination, errno);
        pending.Settle(-errno);
        if (!pending.Parked)
        {
            Forget(pending); // the blocking caller hears it as its connect's result
        }
    }

    /// <summary>
    /// Completes the connect of a socket waiting at the holding listener there, by simultaneous
    /// open, and relays the connection to <paramref name="standIn"/>; false when the app's socket
    /// did not take the simultaneous open (then nothing has changed for it). Should the stand-in be
    /// gone, the app's connection is reset, as it would be at the stand-in. The stand-in admits
    /// the relaying socket, the peer it sees.
    /// </summary>
    private async Task<bool> AnswerHeldAsync(PendingConnect pending, TcpStandIn standIn)
    {
        if (holding is null || LocalAddress(pending.Dup) is not { } waiting)
        {
            return false;
        }

        // In the table before the app's socket is connected: a getpeername at once after sees the destination.
        table.Set(pending.Inode, new RedirectedSocket(pending.Destination, holding.EndPoint, standIn.PodLocalAddress));
        if (await holding.AnswerAsync(waiting).ConfigureAwait(false) is not { } ours)
        {
            table.Remove(pending.Inode);
            return false;
        }

        await HeldConnectionRelay.StartAsync(ours, standIn, holding).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Records a socket connected (<paramref name="result"/> 0 or -EINPROGRESS) to its stand-in;
    /// returns the app's connect result.
    /// </summary>
    private int Record(SafeFileHandle dup, ulong inode, IPEndPoint destination, TcpStandIn standIn, int result)
    {
        if (result is 0 or -Errno.EINPROGRESS)
        {
            table.Set(inode, new RedirectedSocket(destination, standIn.EndPoint, standIn.PodLocalAddress));
            if (LocalAddress(dup) is { } source)
            {
                standIn.Admit(source); // the one peer the stand-in accepts
            }
        }

        return result;
    }

    /// <summary>The socket's own address (getsockname); null when it has none.</summary>
    private static IPEndPoint? LocalAddress(SafeFileHandle dup)
    {
        Span<byte> local = stackalloc byte[SockAddr.MaxLength];
        var localLength = SocketCalls.GetSockName(dup, local);
        return localLength > 0 ? SockAddr.Parse(local[..localLength]) : null;
    }

    /// <summary>Whether the socket's peer is <paramref name="expected"/> (not a new socket that got a recycled inode).</summary>
    private static bool IsConnectedTo(SafeFileHandle dup, IPEndPoint expected)
    {
        Span<byte> peer = stackalloc byte[SockAddr.MaxLength];
        var length = SocketCalls.GetPeerName(dup, peer);
        return length > 0 && SockAddr.Parse(peer[..length]) is { } actual && actual.Equals(expected);
    }

    /// <summary>connect() on a socket already moved to its stand-in: 0 once connected (a restarted call), else what the kernel says.</summary>
    private static HandlerResult Restarted(Notification n, SafeFileHandle dup, RedirectedSocket redirected)
    {
        var address = SockAddr.Format(redirected.Peer, SocketCalls.GetSocketDomain(dup));
        var result = address is null ? -Errno.ENETUNREACH : SocketCalls.Connect(dup, address);
        return result is 0 or -Errno.EISCONN ? n.Return(0) : n.Fail(-result);
    }

    /// <summary>
    /// getsockopt(fd, SOL_SOCKET, SO_ERROR), the only getsockopt the filter traps: the pod's errno
    /// of a failed remote connect, once (then 0, as the kernel clears it); held while the socket
    /// is being switched; otherwise the kernel answers.
    /// </summary>
    private ValueTask<HandlerResult> GetSocketErrorAsync(Notification n, CancellationToken cancellationToken)
    {
        if (_pending.IsEmpty || n.ArgInt(1) != SocketCalls.SolSocketLevel || n.ArgInt(2) != SocketCalls.SoErrorOption)
        {
            return new(n.Continue());
        }

        ulong inode;
        using (var dup = Pidfd.TryGetFd(n.ThreadId, n.ArgInt(0), out _))
        {
            if (dup is null)
            {
                return new(n.Continue());
            }

            inode = FileCalls.GetInode(dup);
        }

        if (!_pending.TryGetValue(inode, out var pending))
        {
            return new(n.Continue());
        }

        lock (pending.Gate)
        {
            if (!pending.Switching)
            {
                return new(n.Continue()); // still waiting: SYN_SENT, SO_ERROR 0, as in the pod
            }
        }

        return pending.Settled.IsCompleted ? new(AnswerError(n, pending)) : AnswerErrorWhenSettledAsync(n, pending, cancellationToken);
    }

    private async ValueTask<HandlerResult> AnswerErrorWhenSettledAsync(Notification n, PendingConnect pending, CancellationToken cancellationToken)
    {
        await pending.Settled.WaitAsync(cancellationToken).ConfigureAwait(false);
        return AnswerError(n, pending);
    }

    private HandlerResult AnswerError(Notification n, PendingConnect pending)
    {
        if (Report(n, pending) is not { } errno)
        {
            return n.Continue();
        }

        Span<byte> lengthBytes = stackalloc byte[4];
        if (!n.Read(n.Arg(4), lengthBytes))
        {
            return n.Fail(Errno.EFAULT);
        }

        // net/core/sock.c sk_getsockopt: a negative length is EINVAL; at most sizeof(int) is copied.
        var room = BinaryPrimitives.ReadInt32LittleEndian(lengthBytes);
        if (room < 0)
        {
            return n.Fail(Errno.EINVAL);
        }

        Span<byte> value = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(value, errno);
        var length = Math.Min(room, 4);
        BinaryPrimitives.WriteInt32LittleEndian(lengthBytes, length);
        return n.Write(n.Arg(3), value[..length]) && n.Write(n.Arg(4), lengthBytes) ? n.Return(0) : n.Fail(Errno.EFAULT);
    }

    /// <summary>
    /// Takes the failure of a settled connect for reporting: its errno once (null when it is not a
    /// failure, or already taken). The kernel's own pending error (ECONNRESET from the disconnect)
    /// is cleared with it.
    /// </summary>
    private int? Report(Notification n, PendingConnect pending)
    {
        var result = pending.Settled.IsCompletedSuccessfully ? pending.Settled.Result : 0;
        if (!pending.Parked || result >= 0 || result == -Errno.EINPROGRESS || !_pending.TryRemove(new KeyValuePair<ulong, PendingConnect>(pending.Inode, pending)))
        {
            return null;
        }

        SocketCalls.TakeError(pending.Dup);
        logger.ConnectFailureReported(n.ThreadId, pending.Destination, -result);
        pending.Dispose();
        return -result;
    }

    /// <summary>Drops an entry (nothing more to report); its duplicate closes.</summary>
    private void Forget(PendingConnect pending)
    {
        if (_pending.TryRemove(new KeyValuePair<ulong, PendingConnect>(pending.Inode, pending)))
        {
            pending.Dispose();
        }
    }

    /// <summary>
    /// The app's close() of a waiting socket is invisible here (the duplicate keeps the socket
    /// alive), so look: once the app has no fd for the socket any more (or has exited), the
    /// remote attempt is abandoned, as closing the socket in the pod would abandon it.
    /// </summary>
    private void WatchForClose(int threadId, PendingConnect pending)
    {
        // A blocking caller cannot close the socket while it waits in connect: only parked sockets are watched.
        if (ProcessIdOf(threadId) is { } processId)
        {
            _ = WatchForCloseAsync(processId, pending);
        }
    }

    private async Task WatchForCloseAsync(int processId, PendingConnect pending)
    {
        var socketLink = $"socket:[{pending.Inode}]";
        while (_pending.TryGetValue(pending.Inode, out var current) && current == pending)
        {
            try
            {
                await Task.Delay(s_closeCheckInterval, pending.Abandon.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }

            if (!HasSocket(processId, pending.Fd, socketLink))
            {
                logger.ConnectAbandoned(pending.Destination);
                try
                {
                    await pending.Abandon.CancelAsync().ConfigureAwait(false);
                }
                catch (ObjectDisposedException)
                {
                    return;
                }

                if (pending.Settled.IsCompleted)
                {
                    Forget(pending); // a failure nobody will read any more
                }

                return;
            }
        }
    }

    /// <summary>Whether the process still has an fd for the socket (the one it connected, or any other: dup2, fd passing).</summary>
    private static bool HasSocket(int processId, int fd, string socketLink)
    {
        try
        {
            if (new FileInfo($"/proc/{processId}/fd/{fd}").LinkTarget == socketLink)
            {
                return true;
            }

            foreach (var entry in new DirectoryInfo($"/proc/{processId}/fd").EnumerateFileSystemInfos())
            {
                if (entry.LinkTarget == socketLink)
                {
                    return true;
                }
            }

            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false; // the process has exited
        }
    }

    /// <summary>The thread group (process) of a thread, from /proc/TID/status.</summary>
    private static int? ProcessIdOf(int threadId)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{threadId}/status"))
            {
                if (line.StartsWith("Tgid:", StringComparison.Ordinal) && int.TryParse(line.AsSpan(5).Trim(), out var tgid))
                {
                    return tgid;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return null;
    }
}
