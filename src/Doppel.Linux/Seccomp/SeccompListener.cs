using System.Runtime.InteropServices;
using Doppel.Linux.Native;
using Microsoft.Win32.SafeHandles;

namespace Doppel.Linux.Seccomp;

/// <summary>
/// The supervisor's end of a seccomp filter: the notification fd taken from the launcher.
/// All methods are thread-safe (the kernel serialises them); answers are keyed by notification id.
/// </summary>
public sealed unsafe class SeccompListener : IDisposable
{
    private const short PollIn = 0x1;
    private const short PollHup = 0x10;

    private readonly SafeFileHandle _handle;

    public SeccompListener(SafeFileHandle handle) => _handle = handle;

    private long Fd => _handle.DangerousGetHandle();

    /// <summary>
    /// Runs an ioctl with the handle referenced, so a concurrent <see cref="Dispose"/> cannot
    /// close (and the process reuse) the fd number under a call; returns <c>-EBADF</c> once disposed.
    /// </summary>
    private long Ioctl(ulong request, long argument)
    {
        var added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            return LibC.Syscall(SyscallNumber.Ioctl, Fd, (long)request, argument);
        }
        catch (ObjectDisposedException)
        {
            return -Errno.EBADF;
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }
        }
    }

    /// <summary>Asks the kernel to wake the supervisor on the notifying task's CPU (lower latency).</summary>
    public int TrySetSyncWakeUp()
    {
        var r = Ioctl(SeccompConstants.IoctlNotifSetFlags, (long)SeccompConstants.UserNotifFdSyncWakeUp);
        return r < 0 ? (int)-r : 0;
    }

    /// <summary>Waits until a notification is pending, or the filter has no task left.</summary>
    public ListenerState Wait(int timeoutMilliseconds)
    {
        if (_handle.IsClosed)
        {
            return ListenerState.Closed;
        }

        long pfd = 0;
        var p = (int*)&pfd;
        p[0] = (int)Fd;
        ((short*)p)[2] = PollIn;
        var r = LibC.Syscall(SyscallNumber.Poll, (long)&pfd, 1, timeoutMilliseconds);
        if (r == -Errno.EINTR || r == 0)
        {
            return ListenerState.Idle;
        }

        if (r < 0)
        {
            return ListenerState.Closed;
        }

        var revents = ((short*)p)[3];
        if ((revents & PollIn) != 0)
        {
            return ListenerState.Pending;
        }

        return (revents & PollHup) != 0 ? ListenerState.Closed : ListenerState.Idle;
    }

    /// <summary>Receives one notification; returns 0 or the errno (ENOENT: the caller has gone away).</summary>
    public int Receive(out SeccompNotification notification)
    {
        notification = default; // RECV fails with EINVAL unless the struct is zeroed
        fixed (SeccompNotification* n = &notification)
        {
            var r = Ioctl(SeccompConstants.IoctlNotifRecv, (long)n);
            return r < 0 ? (int)-r : 0;
        }
    }

    /// <summary>Sends the answer; returns 0 or the errno (ENOENT: the syscall was interrupted meanwhile).</summary>
    public int Respond(in SeccompResponse response)
    {
        fixed (SeccompResponse* p = &response)
        {
            var r = Ioctl(SeccompConstants.IoctlNotifSend, (long)p);
            return r < 0 ? (int)-r : 0;
        }
    }

    /// <summary>
    /// True while the notification is still pending. Checked after every read of the target's
    /// memory: if the thread died and its id was reused, what was read belongs to someone else.
    /// </summary>
    public bool IsIdValid(ulong id)
        => Ioctl(SeccompConstants.IoctlNotifIdValid, (long)&id) == 0;

    /// <summary>
    /// Installs <paramref name="sourceFd"/> in the target and, with <paramref name="answer"/>,
    /// completes the syscall with the new fd number as its result in the same step.
    /// Returns the target's fd number or <c>-errno</c>.
    /// </summary>
    public int AddFd(ulong id, SafeHandle sourceFd, bool closeOnExec, bool answer)
    {
        var request = new SeccompAddFd
        {
            Id = id,
            Flags = answer ? SeccompAddFd.FlagSend : 0,
            SourceFd = (uint)sourceFd.DangerousGetHandle(),
            NewFdFlags = closeOnExec ? (uint)OpenFlags.CloseOnExec : 0,
        };
        return (int)Ioctl(SeccompConstants.IoctlNotifAddFd, (long)&request);
    }

    public void Dispose() => _handle.Dispose();
}
