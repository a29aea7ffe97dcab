namespace Doppel.Linux.Native;

/// <summary>
/// Kernel-internal error codes (include/linux/errno.h, not in the C library's &lt;errno.h&gt;):
/// never seen by programs, but a seccomp user-notification answer may carry them, and the
/// kernel then treats the call as its own syscall would have ended.
/// </summary>
public static class KernelErrno
{
    /// <summary>
    /// The syscall is restarted after the signal that interrupted it, or fails with EINTR when
    /// the signal's handler lacks SA_RESTART: what a blocking accept(2) without SO_RCVTIMEO
    /// returns on a signal.
    /// </summary>
    public const int ERESTARTSYS = 512;
}
