using Doppel.Linux.Native;

namespace Doppel.Linux.Namespaces;

/// <summary>Network namespace moves of the calling thread only (namespaces are per task).</summary>
public static class NetworkNamespace
{
    private const int CloneNewNet = 0x40000000;

    /// <summary>
    /// Moves the calling thread into a new, empty network namespace (needs CAP_SYS_ADMIN). Sockets
    /// it creates, and processes it spawns, live there.
    /// </summary>
    public static int UnshareCurrentThread()
    {
        var r = LibC.Syscall(SyscallNumber.Unshare, CloneNewNet);
        return r < 0 ? (int)-r : 0;
    }

    /// <summary>Moves the calling thread into the network namespace behind <paramref name="nsFd"/>.</summary>
    public static int Enter(System.Runtime.InteropServices.SafeHandle nsFd)
    {
        var r = LibC.Syscall(SyscallNumber.Setns, nsFd.DangerousGetHandle(), CloneNewNet);
        return r < 0 ? (int)-r : 0;
    }
}
