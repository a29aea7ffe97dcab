using System.Runtime.InteropServices;
using System.Text;
using Doppel.Linux.Native;

namespace Doppel.Linux.Processes;

/// <summary>
/// setsid(2) then execve(2): the calling process leaves its session and process group, so signals
/// a terminal sends to its foreground group (Ctrl+C, Ctrl+\, hang-up) no longer reach it, and
/// becomes <c>path</c> with the same pid, open files and environment.
/// </summary>
public static unsafe class NewSession
{
    /// <summary>
    /// Runs <paramref name="path"/> with <paramref name="argv"/> (argv[0] included) and this
    /// process's environment in a new session. Returns only on failure, with the errno (EPERM from
    /// setsid: the caller already leads a process group).
    /// </summary>
    public static int Exec(string path, IReadOnlyList<string> argv)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(argv);
        var sid = LibC.Syscall(SyscallNumber.Setsid);
        if (sid < 0)
        {
            return (int)-sid;
        }

        // Native memory, never freed: execve replaces the address space (or the process exits).
        var pathZ = NativeStrings.Utf8Z(path);
        var argvZ = (byte**)NativeMemory.AllocZeroed((nuint)(argv.Count + 1), (nuint)sizeof(byte*));
        for (var i = 0; i < argv.Count; i++)
        {
            argvZ[i] = NativeStrings.Utf8Z(argv[i]);
        }

        // The environment exactly as this process got it, order and bytes preserved.
        var environ = File.ReadAllBytes("/proc/self/environ");
        var envBlock = (byte*)NativeMemory.AllocZeroed((nuint)environ.Length + 1);
        environ.CopyTo(new Span<byte>(envBlock, environ.Length));
        var envp = (byte**)NativeMemory.AllocZeroed((nuint)(environ.Count(b => b == 0) + 2), (nuint)sizeof(byte*));
        for (int i = 0, start = 0, n = 0; i < environ.Length; i++)
        {
            if (environ[i] == 0)
            {
                if (i > start)
                {
                    envp[n++] = envBlock + start;
                }

                start = i + 1;
            }
        }

        // .NET ignores SIGPIPE and an ignored disposition survives execve: restore the default,
        // and unblock every signal (struct kernel_sigaction with SIG_DFL and an empty mask is all zeroes).
        var zeroes = stackalloc long[8];
        LibC.Syscall(SyscallNumber.RtSigaction, 13 /* SIGPIPE */, (long)zeroes, 0, 8);
        LibC.Syscall(SyscallNumber.RtSigprocmask, 2 /* SIG_SETMASK */, (long)zeroes, 0, 8);
        var r = LibC.Syscall(SyscallNumber.Execve, (long)pathZ, (long)argvZ, (long)envp);
        return (int)-r;
    }
}
