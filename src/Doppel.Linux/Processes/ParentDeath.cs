using Doppel.Linux.Native;

namespace Doppel.Linux.Processes;

/// <summary>
/// prctl(2) <c>PR_SET_PDEATHSIG</c>: the calling process gets SIGKILL when the thread that forked it
/// ends (a thread, not the parent process: prctl(2) "the parent" is the creating thread), so a
/// program doppel started does not run on unsupervised when doppel is killed with SIGKILL. The
/// setting survives execve(2) except into a set-user-ID, set-group-ID or file-capability program,
/// and is not inherited by the caller's children.
/// </summary>
public static class ParentDeath
{
    private const int PrSetPdeathsig = 1;
    private const int SigKill = 9;

    /// <summary>
    /// Asks for SIGKILL at the death of the forking thread, then checks that the parent is still
    /// <paramref name="expectedParent"/> (it may have died between the fork and this call, and the
    /// caller been re-parented). Returns 0, ESRCH when the parent is already gone, or prctl's errno.
    /// </summary>
    public static int KillMeWithParent(int expectedParent)
    {
        var result = LibC.Syscall(SyscallNumber.Prctl, PrSetPdeathsig, SigKill);
        if (result < 0)
        {
            return (int)-result;
        }

        return LibC.Syscall(SyscallNumber.Getppid) == expectedParent ? 0 : Errno.ESRCH;
    }
}
