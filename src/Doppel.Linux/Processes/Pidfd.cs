using Doppel.Linux.Native;
using Microsoft.Win32.SafeHandles;

namespace Doppel.Linux.Processes;

/// <summary>pidfd_open / pidfd_getfd / pidfd_send_signal: race-free handles on processes and threads.</summary>
public static class Pidfd
{
    private const int PidfdThread = 0x80; // O_EXCL: the id names a thread, not a thread-group leader (6.9+)

    /// <summary>Opens a pidfd for a thread id (as found in a seccomp notification) or a process id.</summary>
    public static SafeFileHandle? TryOpen(int id, out int errno)
    {
        var r = LibC.Syscall(SyscallNumber.PidfdOpen, id, PidfdThread);
        if (r == -Errno.EINVAL)
        {
            r = LibC.Syscall(SyscallNumber.PidfdOpen, id, 0);
        }

        errno = r < 0 ? (int)-r : 0;
        return r < 0 ? null : new SafeFileHandle((nint)r, ownsHandle: true);
    }

    /// <summary>
    /// Duplicates fd <paramref name="targetFd"/> of the process behind <paramref name="pidfd"/>
    /// into this process (close-on-exec). The duplicate shares the open file description:
    /// flags such as O_NONBLOCK and the socket itself are the target's.
    /// </summary>
    public static SafeFileHandle? TryGetFd(SafeFileHandle pidfd, int targetFd, out int errno)
    {
        var r = LibC.Syscall(SyscallNumber.PidfdGetfd, pidfd.DangerousGetHandle(), targetFd, 0);
        errno = r < 0 ? (int)-r : 0;
        return r < 0 ? null : new SafeFileHandle((nint)r, ownsHandle: true);
    }

    /// <summary>Duplicates a target thread's fd in one step (pidfd_open + pidfd_getfd).</summary>
    public static SafeFileHandle? TryGetFd(int threadId, int targetFd, out int errno)
    {
        using var pidfd = TryOpen(threadId, out errno);
        return pidfd is null ? null : TryGetFd(pidfd, targetFd, out errno);
    }

    /// <summary>Sends a signal through a pidfd (no risk of hitting a recycled pid).</summary>
    public static int SendSignal(SafeFileHandle pidfd, int signal)
    {
        var r = LibC.Syscall(SyscallNumber.PidfdSendSignal, pidfd.DangerousGetHandle(), signal, 0, 0);
        return r < 0 ? (int)-r : 0;
    }
}
