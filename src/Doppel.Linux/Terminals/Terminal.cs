using Doppel.Linux.Native;

namespace Doppel.Linux.Terminals;

public static unsafe class Terminal
{
    private const ulong TiocGetPgrp = 0x540F;
    private const int GetPgrp = 111;

    /// <summary>
    /// True when this process's group is the foreground group of the terminal on stdin: then a
    /// Ctrl-C reaches every process of the group (a child in the same group included) directly.
    /// </summary>
    public static bool IsInForegroundGroup()
    {
        var foreground = 0;
        if (LibC.Syscall(SyscallNumber.Ioctl, 0, (long)TiocGetPgrp, (long)&foreground) < 0)
        {
            return false; // no terminal
        }

        return foreground == LibC.Syscall(GetPgrp);
    }
}
