using Doppel.Linux.Native;

namespace Doppel.Linux.Processes;

/// <summary>umask(2): the process-wide mask applied to files and sockets it creates.</summary>
public static class FileCreationMask
{

    /// <summary>Sets the mask; returns the previous one.</summary>
    public static int Set(int mask) => (int)LibC.Syscall(SyscallNumber.Umask, mask);
}
