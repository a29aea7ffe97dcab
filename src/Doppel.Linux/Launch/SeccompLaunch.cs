using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Doppel.Linux.Native;
using Doppel.Linux.Seccomp;
using Doppel.Linux.Sockets;

namespace Doppel.Linux.Launch;

/// <summary>
/// The launcher's native half: installs a seccomp filter on the calling (main) thread, hands the
/// listener to the supervisor and execs the program.
/// <code>
///   launcher main thread                         supervisor
///   build argv/envp/filter in native memory
///   prctl(NO_NEW_PRIVS), seccomp(NEW_LISTENER) -> listener fd N
///   write "N\n" on the control socket  ───────►  pidfd_getfd(launcher, N)
///   read 1 byte  ◄──────────────────────────────  write "g"
///   close, reset SIGPIPE + signal mask, execve
///   (ENOEXEC: execve /bin/sh PATH ARGS..., as a shell and execvp do for a script without #!)
/// </code>
/// Between seccomp() and the hand-off, any trapped syscall on this thread would wait for a
/// supervisor that does not have the listener yet: a deadlock. So after the filter is in only
/// raw syscalls through an already-bound stub run here, with nothing allocated.
/// </summary>
public static unsafe class SeccompLaunch
{
    private const string ShellPath = "/bin/sh";

    /// <summary>Connects a close-on-exec unix stream socket to <paramref name="path"/>; returns the fd or <c>-errno</c>.</summary>
    public static int ConnectUnix(string path)
    {
        var fd = SocketCalls.Create(SocketCalls.AfUnix, SocketCalls.SockStream);
        if (fd < 0)
        {
            return fd;
        }

        var address = new byte[110];
        address[0] = SocketCalls.AfUnix;
        var length = Encoding.UTF8.GetBytes(path, address.AsSpan(2, 107));
        fixed (byte* p = address)
        {
            var r = LibC.Syscall(SyscallNumber.Connect, fd, (long)p, 2 + length + 1);
            if (r < 0)
            {
                LibC.Syscall(SyscallNumber.Close, fd);
                return (int)r;
            }
        }

        return fd;
    }

    /// <summary>
    /// Installs <paramref name="filter"/> (raw <c>sock_filter</c> array), hands the listener over
    /// on <paramref name="controlFd"/> and execs <paramref name="path"/>; a file the kernel cannot
    /// exec (ENOEXEC: executable, but no <c>#!</c> line and no known format) is run by
    /// <c>/bin/sh</c> instead, as POSIX execvp and shells do. Returns only on failure, with the
    /// stage and the errno.
    /// </summary>
    public static (LaunchStage Stage, int Errno) InstallAndExec(
        int controlFd, ReadOnlySpan<byte> filter, string path, IReadOnlyList<string> argv, ReadOnlySpan<byte> environ, bool waitKillableRecv)
    {
        // Everything the tail needs lives in native memory, allocated now; it is never freed
        // because execve replaces the whole address space (or the process exits right after).
        var pathZ = NativeStrings.Utf8Z(path);
        var argvZ = (byte**)NativeMemory.AllocZeroed((nuint)(argv.Count + 1), (nuint)sizeof(byte*));
        for (var i = 0; i < argv.Count; i++)
        {
            argvZ[i] = NativeStrings.Utf8Z(argv[i]);
        }

        // The ENOEXEC fallback: /bin/sh PATH ARGV[1..].
        var shellZ = NativeStrings.Utf8Z(ShellPath);
        var shellArgvZ = (byte**)NativeMemory.AllocZeroed((nuint)(argv.Count + 2), (nuint)sizeof(byte*));
        shellArgvZ[0] = shellZ;
        shellArgvZ[1] = pathZ;
        for (var i = 1; i < argv.Count; i++)
        {
            shellArgvZ[i + 1] = argvZ[i];
        }

        var envBlock = (byte*)NativeMemory.AllocZeroed((nuint)environ.Length + 1);
        environ.CopyTo(new Span<byte>(envBlock, environ.Length));
        var envCount = 0;
        foreach (var b in environ)
        {
            envCount += b == 0 ? 1 : 0;
        }

        var envp = (byte**)NativeMemory.AllocZeroed((nuint)(envCount + 2), (nuint)sizeof(byte*));
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

        var program = (byte*)NativeMemory.Alloc((nuint)filter.Length);
        filter.CopyTo(new Span<byte>(program, filter.Length));
        var fprog = (ushort*)NativeMemory.AllocZeroed(16); // struct sock_fprog { u16 len; (pad) sock_filter* filter; }
        fprog[0] = (ushort)(filter.Length / 8);
        *(byte**)((byte*)fprog + 8) = program;
        var scratch = (long*)NativeMemory.AllocZeroed(64);

        // Bind and warm the stub the tail uses.
        LibC.SyscallNoErrno(SyscallNumber.Gettid);
        var flags = SeccompConstants.FilterFlagNewListener | (waitKillableRecv ? SeccompConstants.FilterFlagWaitKillableRecv : 0);
        var exec = new ExecArguments(pathZ, argvZ, shellZ, shellArgvZ, envp);
        var stage = Tail(controlFd, flags, fprog, scratch, &exec);
        if (stage == LaunchStage.InstallFilter && waitKillableRecv)
        {
            // Kernels before 5.19 reject WAIT_KILLABLE_RECV with EINVAL: retry without it.
            stage = Tail(controlFd, SeccompConstants.FilterFlagNewListener, fprog, scratch, &exec);
        }

        return (stage, Marshal.GetLastPInvokeError());
    }

    // Runs after the filter is in: raw syscalls only, no allocation, nothing that could open a file.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static LaunchStage Tail(int controlFd, int flags, void* fprog, long* scratch, ExecArguments* exec)
    {
        if (LibC.SyscallNoErrno(SyscallNumber.Prctl, 38 /* PR_SET_NO_NEW_PRIVS */, 1, 0, 0, 0) != 0)
        {
            return LaunchStage.NoNewPrivs;
        }

        var listener = LibC.SyscallNoErrno(SyscallNumber.Seccomp, SeccompConstants.SetModeFilter, flags, (long)fprog);
        if (listener < 0)
        {
            return LaunchStage.InstallFilter;
        }

        // "<fd>\n", formatted by hand.
        var text = (byte*)scratch;
        var digits = text + 32;
        var count = 0;
        var value = listener;
        do
        {
            digits[count++] = (byte)('0' + (value % 10));
            value /= 10;
        }
        while (value > 0);
        var length = 0;
        while (count > 0)
        {
            text[length++] = digits[--count];
        }

        text[length++] = (byte)'\n';
        if (LibC.SyscallNoErrno(SyscallNumber.Write, controlFd, (long)text, length) != length
            || LibC.SyscallNoErrno(SyscallNumber.Read, controlFd, (long)text, 1) != 1)
        {
            // No supervisor: never run the program with a filter nobody answers.
            return LaunchStage.HandOver;
        }

        LibC.SyscallNoErrno(SyscallNumber.Close, listener);
        LibC.SyscallNoErrno(SyscallNumber.Close, controlFd);

        // .NET ignores SIGPIPE, and an ignored disposition survives execve: restore the default.
        // struct kernel_sigaction { handler = SIG_DFL; flags; restorer; mask } is all zeroes.
        for (var i = 0; i < 8; i++)
        {
            scratch[i] = 0;
        }

        LibC.SyscallNoErrno(SyscallNumber.RtSigaction, 13 /* SIGPIPE */, (long)scratch, 0, 8);
        LibC.SyscallNoErrno(14 /* rt_sigprocmask */, 2 /* SIG_SETMASK */, (long)scratch, 0, 8);
        LibC.SyscallNoErrno(SyscallNumber.Execve, (long)exec->Path, (long)exec->Argv, (long)exec->Envp);

        // Reading the last error is a thread-local read, no syscall; the supervisor owns the
        // listener by now anyway.
        if (Marshal.GetLastPInvokeError() == Errno.ENOEXEC)
        {
            LibC.SyscallNoErrno(SyscallNumber.Execve, (long)exec->Shell, (long)exec->ShellArgv, (long)exec->Envp);
        }

        return LaunchStage.Exec;
    }

    /// <summary>What the tail execs, all in native memory prepared before the filter.</summary>
    private readonly struct ExecArguments(byte* path, byte** argv, byte* shell, byte** shellArgv, byte** envp)
    {
        public readonly byte* Path = path;
        public readonly byte** Argv = argv;
        public readonly byte* Shell = shell;
        public readonly byte** ShellArgv = shellArgv;
        public readonly byte** Envp = envp;
    }
}
