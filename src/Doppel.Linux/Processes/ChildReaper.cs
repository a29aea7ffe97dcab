using Doppel.Linux.Native;

namespace Doppel.Linux.Processes;

/// <summary>
/// Makes this process the "child subreaper" of its descendants (prctl(2)
/// <c>PR_SET_CHILD_SUBREAPER</c>): a descendant whose parent exits is re-parented to this process
/// instead of init, so processes a child leaves behind (<c>server &amp;</c>, a double-forked daemon)
/// stay findable among this process's descendants. This process must then reap them
/// (<see cref="TryReap"/>): until it does, a dead one stays a zombie and keeps its seccomp
/// filter referenced.
/// </summary>
public static unsafe class ChildReaper
{
    private const int PrSetChildSubreaper = 36;
    private const int PIdTypePid = 1; // waitid's P_PID
    private const int WNoHang = 1;
    private const int WExited = 4;
    private const int SigInfoSize = 128;
    private const int SigInfoPidOffset = 16; // siginfo_t.si_pid for SIGCHLD (x86_64)

    /// <summary>Becomes the child subreaper (for this process's whole life); returns 0 or the errno.</summary>
    public static int BecomeSubreaper()
    {
        var r = LibC.Syscall(SyscallNumber.Prctl, PrSetChildSubreaper, 1);
        return r < 0 ? (int)-r : 0;
    }

    /// <summary>
    /// Reaps <paramref name="pid"/> if it is a child of this process that has exited
    /// (waitid(P_PID, WEXITED | WNOHANG)); false when it still runs or is not a child.
    /// </summary>
    public static bool TryReap(int pid)
    {
        var info = stackalloc byte[SigInfoSize];
        new Span<byte>(info, SigInfoSize).Clear();
        var r = LibC.Syscall(SyscallNumber.Waitid, PIdTypePid, pid, (long)info, WExited | WNoHang, 0);
        return r == 0 && *(int*)(info + SigInfoPidOffset) == pid;
    }

    /// <summary>The direct children of this process (<c>/proc/self/task/*/children</c>, proc(5)).</summary>
    public static IReadOnlyList<int> Children()
    {
        var children = new List<int>();
        foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            string text;
            try
            {
                text = File.ReadAllText(Path.Combine(task, "children"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue; // the thread has exited
            }

            foreach (var field in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (int.TryParse(field, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var pid))
                {
                    children.Add(pid);
                }
            }
        }

        return children;
    }
}
