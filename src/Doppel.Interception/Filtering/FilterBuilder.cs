using Doppel.Interception.Policy;
using Doppel.Linux.Files;
using Doppel.Linux.Native;
using Doppel.Linux.Seccomp;
using Doppel.Linux.Sockets;

namespace Doppel.Interception.Filtering;

/// <summary>
/// Builds the seccomp program from the syscall families a policy needs.
/// <code>
///   arch != x86_64 ─────────────► KILL_PROCESS   (an i386/x32 entry would bypass the numbers below)
///   nr has the x32 bit ─────────► ERRNO(ENOSYS)
///   nr == plain trapped ────────► USER_NOTIF
///   nr == pre-checked ──────────► its block: USER_NOTIF or ALLOW from the arguments
///   anything else ──────────────► ALLOW
/// </code>
/// io_uring_setup gets ENOSYS whenever anything is trapped (its operations bypass seccomp).
/// Pre-checks keep hot, never-remote calls in the kernel: the fd forms of stat (fstat, and
/// glibc's fstat as newfstatat(fd, "", AT_EMPTY_PATH), statx(fd, "", AT_EMPTY_PATH)) only on fds
/// 3 and up, which may be a pod file's local copy (0–2 are the terminal or a pipe); sendto and
/// recvfrom only matter with an address; utimensat only with a path (futimens passes none);
/// getsockopt only as getsockopt(fd, SOL_SOCKET, SO_ERROR), how event loops learn a connect's end;
/// fcntl only with a lock command (F_GETFL, F_SETFD, F_DUPFD... are never trapped).
/// </summary>
internal static class FilterBuilder
{
    private enum PreCheck
    {
        None,
        SkipStdioFdWhenFlagSet,
        TrapFdFromThree,
        TrapWhenPointerSet,
        TrapWhenSocketError,
        TrapLockCommand,
    }

    public static byte[] Build(SyscallFamilies families)
    {
        var traps = Traps(families);
        var asm = new BpfAssembler();
        var allow = BpfAssembler.NewLabel();
        var notify = BpfAssembler.NewLabel();
        var kill = BpfAssembler.NewLabel();
        var enosys = BpfAssembler.NewLabel();
        var blocks = traps.Where(t => t.Check != PreCheck.None).ToDictionary(t => t.Nr, _ => BpfAssembler.NewLabel());

        asm.LoadWord(SeccompConstants.DataOffsetArch);
        asm.JumpIfEqual(SeccompConstants.AuditArchX8664, null, kill);
        asm.LoadWord(SeccompConstants.DataOffsetNr);
        asm.JumpIfAnyBit(SeccompConstants.X32SyscallBit, enosys, null);
        if (families != SyscallFamilies.None)
        {
            // io_uring submits opens, connects and sends without syscalls the filter could see:
            // refuse to set one up, and programs fall back to plain syscalls (libuv, Go, Java do).
            asm.JumpIfEqual(SyscallNumber.IoUringSetup, enosys, null);
        }

        foreach (var trap in traps)
        {
            asm.JumpIfEqual((uint)trap.Nr, trap.Check == PreCheck.None ? notify : blocks[trap.Nr], null);
        }

        asm.Mark(allow);
        asm.Return(SeccompConstants.RetAllow);
        asm.Mark(notify);
        asm.Return(SeccompConstants.RetUserNotif);
        asm.Mark(kill);
        asm.Return(SeccompConstants.RetKillProcess);
        asm.Mark(enosys);
        asm.Return(SeccompConstants.RetErrno | Errno.ENOSYS);

        foreach (var trap in traps.Where(t => t.Check != PreCheck.None))
        {
            asm.Mark(blocks[trap.Nr]);
            var low = SeccompConstants.DataOffsetArgs + (uint)(trap.Argument * 8);
            if (trap.Check is PreCheck.SkipStdioFdWhenFlagSet or PreCheck.TrapFdFromThree)
            {
                // The fd is an int (args[0]): its low word, unsigned, so AT_FDCWD (-100) counts as 3 and up.
                var checkFd = BpfAssembler.NewLabel();
                var skip = BpfAssembler.NewLabel();
                var trapIt = BpfAssembler.NewLabel();
                if (trap.Check == PreCheck.SkipStdioFdWhenFlagSet)
                {
                    asm.LoadWord(low);
                    asm.JumpIfAnyBit(trap.Value, checkFd, trapIt);
                }

                asm.Mark(checkFd);
                asm.LoadWord(SeccompConstants.DataOffsetArgs);
                asm.JumpIfAtLeast(3, trapIt, skip);
                asm.Mark(skip);
                asm.Return(SeccompConstants.RetAllow);
                asm.Mark(trapIt);
                asm.Return(SeccompConstants.RetUserNotif);
            }
            else if (trap.Check == PreCheck.TrapLockCommand)
            {
                // fcntl's cmd (args[1]) is an int: only the six lock commands are trapped.
                var trapIt = BpfAssembler.NewLabel();
                asm.LoadWord(SeccompConstants.DataOffsetArgs + 8);
                foreach (var command in FileLocks.LockCommands)
                {
                    asm.JumpIfEqual((uint)command, trapIt, null);
                }

                asm.Return(SeccompConstants.RetAllow);
                asm.Mark(trapIt);
                asm.Return(SeccompConstants.RetUserNotif);
            }
            else if (trap.Check == PreCheck.TrapWhenSocketError)
            {
                // level (args[1]) and optname (args[2]) are ints: their low words decide.
                var trapIt = BpfAssembler.NewLabel();
                var pass = BpfAssembler.NewLabel();
                var checkName = BpfAssembler.NewLabel();
                asm.LoadWord(SeccompConstants.DataOffsetArgs + 8);
                asm.JumpIfEqual((uint)SocketCalls.SolSocketLevel, checkName, pass);
                asm.Mark(checkName);
                asm.LoadWord(SeccompConstants.DataOffsetArgs + 16);
                asm.JumpIfEqual((uint)SocketCalls.SoErrorOption, trapIt, pass);
                asm.Mark(pass);
                asm.Return(SeccompConstants.RetAllow);
                asm.Mark(trapIt);
                asm.Return(SeccompConstants.RetUserNotif);
            }
            else
            {
                // A 64-bit pointer is non-null when either half is.
                var trapIt = BpfAssembler.NewLabel();
                asm.LoadWord(low);
                asm.JumpIfEqual(0, null, trapIt);
                asm.LoadWord(low + 4);
                asm.JumpIfEqual(0, null, trapIt);
                asm.Return(SeccompConstants.RetAllow);
                asm.Mark(trapIt);
                asm.Return(SeccompConstants.RetUserNotif);
            }
        }

        return asm.Build();
    }

    private static List<(int Nr, PreCheck Check, int Argument, uint Value)> Traps(SyscallFamilies families)
    {
        var traps = new List<(int, PreCheck, int, uint)>();
        void Plain(params int[] numbers) => traps.AddRange(numbers.Select(n => (n, PreCheck.None, 0, 0u)));

        if ((families & (SyscallFamilies.Outgoing | SyscallFamilies.OutgoingUdp)) != 0)
        {
            Plain(SyscallNumber.Connect, SyscallNumber.GetPeerName);
        }

        if ((families & SyscallFamilies.Outgoing) != 0)
        {
            // Only connected TCP (and connected UDP) sockets have a local name worth answering.
            Plain(SyscallNumber.GetSockName);

            // A remote TCP connect that failed reports the pod's errno in SO_ERROR.
            traps.Add((SyscallNumber.GetSockOpt, PreCheck.TrapWhenSocketError, 1, 0));
        }

        if ((families & (SyscallFamilies.Outgoing | SyscallFamilies.OutgoingUdp)) != 0)
        {

            // With an address, sendto connects a TCP socket too (MSG_FASTOPEN) besides sending UDP.
            traps.Add((SyscallNumber.SendTo, PreCheck.TrapWhenPointerSet, 4, 0));
        }

        if ((families & SyscallFamilies.OutgoingUdp) != 0)
        {
            traps.Add((SyscallNumber.RecvFrom, PreCheck.TrapWhenPointerSet, 4, 0));
            Plain(SyscallNumber.SendMsg, SyscallNumber.SendMmsg, SyscallNumber.RecvMsg, SyscallNumber.RecvMmsg);
        }

        if ((families & SyscallFamilies.Listen) != 0)
        {
            Plain(SyscallNumber.Bind, SyscallNumber.Listen);

            // A delivered whole-TCP connection's accepted socket answers the original client (ListenHandler).
            if ((families & (SyscallFamilies.Outgoing | SyscallFamilies.OutgoingUdp)) == 0)
            {
                Plain(SyscallNumber.GetPeerName);
            }
        }

        if ((families & SyscallFamilies.Accept) != 0)
        {
            // Only an accept that asks for the peer's address can be told the original client (AcceptHandler).
            traps.Add((SyscallNumber.Accept, PreCheck.TrapWhenPointerSet, 1, 0));
            traps.Add((SyscallNumber.Accept4, PreCheck.TrapWhenPointerSet, 1, 0));
        }

        if ((families & SyscallFamilies.FilesRead) != 0)
        {
            Plain(
                SyscallNumber.Open, SyscallNumber.Openat, SyscallNumber.Openat2, SyscallNumber.Creat,
                SyscallNumber.Stat, SyscallNumber.Lstat,
                SyscallNumber.Access, SyscallNumber.Faccessat, SyscallNumber.Faccessat2,
                SyscallNumber.Readlink, SyscallNumber.Readlinkat,
                SyscallNumber.GetXattr, SyscallNumber.LGetXattr, SyscallNumber.ListXattr, SyscallNumber.LListXattr);

            // The working directory in the pod (FileHandler.WorkingDirectory.cs); link and symlink
            // (rare) so that a pod path, or a relative one in a pod directory, never lands here;
            // execve/execveat so that a relative program in a pod directory never runs another file
            // (FileHandler.Exec.cs: answered without a lookup unless the process is in a pod directory).
            Plain(SyscallNumber.Chdir, SyscallNumber.Fchdir, SyscallNumber.Getcwd);
            Plain(SyscallNumber.Link, SyscallNumber.Linkat, SyscallNumber.Symlink, SyscallNumber.Symlinkat);
            Plain(SyscallNumber.Execve, SyscallNumber.Execveat);

            // fstat of a pod file's fd is answered as stat of its path is (FileHandler.FdStat.cs).
            traps.Add((SyscallNumber.Newfstatat, PreCheck.SkipStdioFdWhenFlagSet, 3, (uint)OpenFlags.AtEmptyPath));
            traps.Add((SyscallNumber.Statx, PreCheck.SkipStdioFdWhenFlagSet, 2, (uint)OpenFlags.AtEmptyPath));
            traps.Add((SyscallNumber.Fstat, PreCheck.TrapFdFromThree, 0, 0));
        }

        if ((families & SyscallFamilies.FilesWrite) != 0)
        {
            Plain(
                SyscallNumber.Mkdir, SyscallNumber.Mkdirat, SyscallNumber.Unlink, SyscallNumber.Unlinkat,
                SyscallNumber.Rename, SyscallNumber.Renameat, SyscallNumber.Renameat2, SyscallNumber.Rmdir,
                SyscallNumber.Truncate,
                SyscallNumber.Chmod, SyscallNumber.Fchmodat, SyscallNumber.Fchmodat2,
                SyscallNumber.Chown, SyscallNumber.Lchown, SyscallNumber.Fchownat);

            // futimens is utimensat(fd, NULL, ...): only a path can be remote.
            traps.Add((SyscallNumber.Utimensat, PreCheck.TrapWhenPointerSet, 1, 0));
        }

        if ((families & SyscallFamilies.FilesWriteThrough) != 0)
        {
            Plain(SyscallNumber.Close, SyscallNumber.Fsync, SyscallNumber.Fdatasync);
        }

        if ((families & SyscallFamilies.FileLocks) != 0)
        {
            // Locks on pod files are the pod's (LockHandler); a close releases the fd's.
            Plain(SyscallNumber.Flock);
            traps.Add((SyscallNumber.Fcntl, PreCheck.TrapLockCommand, 1, 0));
            if ((families & SyscallFamilies.FilesWriteThrough) == 0)
            {
                Plain(SyscallNumber.Close);
            }
        }

        if ((families & SyscallFamilies.Hostname) != 0)
        {
            Plain(SyscallNumber.Uname);
        }

        return traps;
    }
}
