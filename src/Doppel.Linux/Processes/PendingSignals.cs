using System.Globalization;
using Doppel.Linux.Native;

namespace Doppel.Linux.Processes;

/// <summary>
/// Whether a thread has a signal waiting that it would act on, from the SigPnd, ShdPnd, SigBlk and
/// SigIgn masks of <c>/proc/TID/status</c> (proc(5); bit N-1 is signal N). A thread stopped in a
/// seccomp user notification with <c>SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV</c> is not woken by
/// such a signal (only by a fatal one), so the supervisor looks for it itself where the kernel
/// would have interrupted the call.
/// </summary>
public static class PendingSignals
{
    /// <summary>
    /// True when a signal that is neither blocked nor ignored is pending for <paramref name="threadId"/>
    /// or its process (a process-wide one may still go to another thread); false when none is, or the
    /// thread is gone.
    /// </summary>
    public static bool HasDeliverable(int threadId) => InterruptErrno(threadId) is not null;

    /// <summary>Reads the masks from the text of a <c>/proc/TID/status</c> file.</summary>
    public static bool HasDeliverable(ReadOnlySpan<char> status) => InterruptErrno(status) is not null;

    /// <summary>
    /// The errno a trapped call that waits should end with now, as the kernel's interruptible wait
    /// would, or null when no signal is pending that the thread would act on.
    /// <see cref="KernelErrno.ERESTARTSYS"/> (the call restarts after an <c>SA_RESTART</c> handler,
    /// else fails with EINTR; signal(7)) when the signal is the thread's own or its process has one
    /// thread; <see cref="Errno.EINTR"/> when only a process-wide signal is pending in a process of
    /// several threads: the kernel may hand that one to another thread, and ERESTARTSYS on a thread
    /// with no signal to handle would reach the program as errno 512.
    /// </summary>
    public static int? InterruptErrno(int threadId)
    {
        string status;
        try
        {
            status = File.ReadAllText($"/proc/{threadId}/status");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        return InterruptErrno(status.AsSpan());
    }

    /// <summary><see cref="InterruptErrno(int)"/> from the text of a <c>/proc/TID/status</c> file.</summary>
    public static int? InterruptErrno(ReadOnlySpan<char> status)
    {
        ulong own = 0, shared = 0, blocked = 0, ignored = 0;
        var threads = 1;
        foreach (var line in status.EnumerateLines())
        {
            if (line.StartsWith("SigPnd:"))
            {
                own = Mask(line);
            }
            else if (line.StartsWith("ShdPnd:"))
            {
                shared = Mask(line);
            }
            else if (line.StartsWith("SigBlk:"))
            {
                blocked = Mask(line);
            }
            else if (line.StartsWith("SigIgn:"))
            {
                ignored = Mask(line);
            }
            else if (line.StartsWith("Threads:"))
            {
                threads = int.TryParse(line[(line.IndexOf(':') + 1)..].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var count) ? count : 1;
            }
        }

        var deliverable = ~blocked & ~ignored;
        if ((own & deliverable) != 0 || ((shared & deliverable) != 0 && threads == 1))
        {
            return KernelErrno.ERESTARTSYS;
        }

        return (shared & deliverable) != 0 ? Errno.EINTR : null;
    }

    private static ulong Mask(ReadOnlySpan<char> line) =>
        ulong.TryParse(line[(line.IndexOf(':') + 1)..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var mask) ? mask : 0;
}
