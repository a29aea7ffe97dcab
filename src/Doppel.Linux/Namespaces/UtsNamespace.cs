using Doppel.Linux.Native;

namespace Doppel.Linux.Namespaces;

/// <summary>UTS namespace moves of the calling thread only (unlike mount namespaces, allowed in a multi-threaded process).</summary>
public static class UtsNamespace
{
    private const int CloneNewUts = 0x04000000;

    /// <summary>Moves the calling thread into the UTS namespace behind <paramref name="nsFd"/>; returns 0 or the errno.</summary>
    public static int Enter(System.Runtime.InteropServices.SafeHandle nsFd)
    {
        var r = LibC.Syscall(SyscallNumber.Setns, nsFd.DangerousGetHandle(), CloneNewUts);
        return r < 0 ? (int)-r : 0;
    }
}
