using Doppel.Linux.Native;

namespace Doppel.Linux.Processes;

/// <summary>
/// Standard input, output and error (fds 0–2) that the caller closed (<c>doppel --version 2&gt;&amp;-</c>):
/// .NET's console then fails on its first write and the process aborts. Opening <c>/dev/null</c>
/// onto each closed one, as daemons and shells do, makes writes vanish and reads see end of file.
/// </summary>
public static unsafe class StandardDescriptors
{
    private const int GetDescriptorFlags = 1; // F_GETFD

    /// <summary>
    /// Opens <c>/dev/null</c> (read-write) onto each of fds 0, 1 and 2 that is not open
    /// (<c>fcntl(fd, F_GETFD)</c> fails with EBADF). Raw syscalls only: safe before anything touches
    /// the console. Failures are ignored (the descriptor stays closed).
    /// </summary>
    public static void OpenClosedOnDevNull()
    {
        var path = stackalloc byte[] { (byte)'/', (byte)'d', (byte)'e', (byte)'v', (byte)'/', (byte)'n', (byte)'u', (byte)'l', (byte)'l', 0 };
        for (var fd = 0; fd <= 2; fd++)
        {
            if (LibC.Syscall(SyscallNumber.Fcntl, fd, GetDescriptorFlags) != -Errno.EBADF)
            {
                continue;
            }

            var opened = LibC.Syscall(SyscallNumber.Open, (long)path, OpenFlags.ReadWrite);
            if (opened >= 0 && opened != fd)
            {
                // The lowest free fd is this one unless another thread raced us: put it in place.
                LibC.Syscall(SyscallNumber.Dup2, opened, fd);
                LibC.Syscall(SyscallNumber.Close, opened);
            }
        }
    }
}
