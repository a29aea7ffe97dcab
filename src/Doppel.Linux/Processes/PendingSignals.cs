using System.Globalization;

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
    public static bool HasDeliverable(int threadId)
    {
        string status;
        try
        {
            status = File.ReadAllText($"/proc/{threadId}/status");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }

        return HasDeliverable(status.AsSpan());
    }

    /// <summary>Reads the masks from the text of a <c>/proc/TID/status</c> file.</summary>
    public static bool HasDeliverable(ReadOnlySpan<char> status)
    {
        ulong pending = 0, blocked = 0, ignored = 0;
        foreach (var line in status.EnumerateLines())
        {
            if (line.StartsWith("SigPnd:") || line.StartsWith("ShdPnd:"))
            {
                pending |= Mask(line);
            }
            else if (line.StartsWith("SigBlk:"))
            {
                blocked = Mask(line);
            }
            else if (line.StartsWith("SigIgn:"))
            {
                ignored = Mask(line);
            }
        }

        return (pending & ~blocked & ~ignored) != 0;
    }

    private static ulong Mask(ReadOnlySpan<char> line) =>
        ulong.TryParse(line[(line.IndexOf(':') + 1)..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var mask) ? mask : 0;
}
