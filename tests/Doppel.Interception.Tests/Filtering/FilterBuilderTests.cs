using System.Buffers.Binary;
using Doppel.Interception.Filtering;
using Doppel.Interception.Policy;
using Doppel.Linux.Native;
using Doppel.Linux.Seccomp;

namespace Doppel.Interception.Tests.Filtering;

/// <summary>The generated programs, run through a small classic-BPF interpreter over synthetic seccomp_data.</summary>
public sealed class FilterBuilderTests
{
    private const ulong AtEmptyPath = 0x1000;

    [Fact]
    public void WrongArchitectureKillsTheProcess()
    {
        var program = FilterBuilder.Build(SyscallFamilies.FilesRead);

        Assert.Equal(SeccompConstants.RetKillProcess, Run(program, SyscallNumber.Openat, arch: 0x40000003 /* i386 */));
    }

    [Fact]
    public void X32SyscallsGetEnosys()
    {
        var program = FilterBuilder.Build(SyscallFamilies.Outgoing);

        Assert.Equal(SeccompConstants.RetErrno | 38u, Run(program, 0x40000000 | SyscallNumber.Connect));
    }

    [Fact]
    public void OnlyTheFamiliesAskedForAreTrapped()
    {
        var network = FilterBuilder.Build(SyscallFamilies.Outgoing);

        Assert.Equal(SeccompConstants.RetUserNotif, Run(network, SyscallNumber.Connect));
        Assert.Equal(SeccompConstants.RetUserNotif, Run(network, SyscallNumber.GetPeerName));
        Assert.Equal(SeccompConstants.RetUserNotif, Run(network, SyscallNumber.GetSockName));
        Assert.Equal(SeccompConstants.RetAllow, Run(FilterBuilder.Build(SyscallFamilies.OutgoingUdp | SyscallFamilies.Listen), SyscallNumber.GetSockName));
        Assert.Equal(SeccompConstants.RetAllow, Run(network, SyscallNumber.Openat));
        Assert.Equal(SeccompConstants.RetAllow, Run(network, SyscallNumber.Uname));
        Assert.Equal(SeccompConstants.RetUserNotif, Run(network, SyscallNumber.SendTo, args: [3, 0, 0, 0x20000000, 0x7fff0000, 16]));
        Assert.Equal(SeccompConstants.RetAllow, Run(network, SyscallNumber.SendTo, args: [3, 0x1000, 10, 0, 0, 0]));
        Assert.Equal(SeccompConstants.RetAllow, Run(network, SyscallNumber.RecvFrom, args: [3, 0x1000, 10, 0, 0x2000, 0x3000]));

        var none = FilterBuilder.Build(SyscallFamilies.None);
        Assert.Equal(SeccompConstants.RetErrno | 38u, Run(network, SyscallNumber.IoUringSetup));
        Assert.All(Enumerable.Range(0, 460), nr => Assert.Equal(SeccompConstants.RetAllow, Run(none, nr)));
    }

    [Fact]
    public void AcceptIsTrappedOnlyWithIncomingDeliveryAndAnAddressBuffer()
    {
        var delivery = FilterBuilder.Build(SyscallFamilies.Listen | SyscallFamilies.Accept);
        var listenOnly = FilterBuilder.Build(SyscallFamilies.Listen | SyscallFamilies.Outgoing);

        Assert.Equal(SeccompConstants.RetUserNotif, Run(delivery, SyscallNumber.Accept, args: [3, 0x7fff00001000, 0x2000]));
        Assert.Equal(SeccompConstants.RetUserNotif, Run(delivery, SyscallNumber.Accept4, args: [3, 0x1000, 0x2000, 0x80800]));
        Assert.Equal(SeccompConstants.RetAllow, Run(delivery, SyscallNumber.Accept4, args: [3, 0, 0, 0x80800]));
        Assert.Equal(SeccompConstants.RetAllow, Run(delivery, SyscallNumber.Accept, args: [3, 0, 0]));
        Assert.Equal(SeccompConstants.RetAllow, Run(listenOnly, SyscallNumber.Accept, args: [3, 0x1000, 0x2000]));
        Assert.Equal(SeccompConstants.RetAllow, Run(listenOnly, SyscallNumber.Accept4, args: [3, 0x1000, 0x2000, 0]));
    }

    [Fact]
    public void FstatIsTrappedOnlyOnFdsThatCanBeAPodFile()
    {
        var program = FilterBuilder.Build(SyscallFamilies.FilesRead);

        // Every fd form of stat on fd 3 and up: it may be a pod file's local copy.
        Assert.Equal(SeccompConstants.RetUserNotif, Run(program, SyscallNumber.Newfstatat, args: [3, 0x1000, 0x2000, AtEmptyPath]));
        Assert.Equal(SeccompConstants.RetUserNotif, Run(program, SyscallNumber.Statx, args: [3, 0x1000, AtEmptyPath, 0x7ff, 0x2000]));
        Assert.Equal(SeccompConstants.RetUserNotif, Run(program, SyscallNumber.Fstat, args: [3, 0x2000]));
        Assert.Equal(SeccompConstants.RetUserNotif, Run(program, SyscallNumber.Newfstatat, args: [unchecked((ulong)-100), 0x1000, 0x2000, AtEmptyPath]));

        // Standard input, output and error stay in the kernel.
        Assert.Equal(SeccompConstants.RetAllow, Run(program, SyscallNumber.Newfstatat, args: [1, 0x1000, 0x2000, AtEmptyPath]));
        Assert.Equal(SeccompConstants.RetAllow, Run(program, SyscallNumber.Statx, args: [2, 0x1000, AtEmptyPath, 0x7ff, 0x2000]));
        Assert.Equal(SeccompConstants.RetAllow, Run(program, SyscallNumber.Fstat, args: [0, 0x2000]));

        // Path forms are always trapped.
        Assert.Equal(SeccompConstants.RetUserNotif, Run(program, SyscallNumber.Newfstatat, args: [unchecked((ulong)-100), 0x1000, 0x2000, 0]));
        Assert.Equal(SeccompConstants.RetUserNotif, Run(program, SyscallNumber.Statx, args: [1, 0x1000, 0x100, 0x7ff, 0x2000]));
        Assert.Equal(SeccompConstants.RetAllow, Run(FilterBuilder.Build(SyscallFamilies.Outgoing), SyscallNumber.Fstat, args: [3, 0x2000]));
    }

    [Fact]
    public void FutimensStaysInTheKernelAndUtimensatWithAPathIsTrapped()
    {
        var program = FilterBuilder.Build(SyscallFamilies.FilesRead | SyscallFamilies.FilesWrite);

        Assert.Equal(SeccompConstants.RetAllow, Run(program, SyscallNumber.Utimensat, args: [3, 0, 0x2000, 0]));
        Assert.Equal(SeccompConstants.RetUserNotif, Run(program, SyscallNumber.Utimensat, args: [unchecked((ulong)-100), 0x1000, 0x2000, 0]));
        Assert.Equal(SeccompConstants.RetUserNotif, Run(program, SyscallNumber.Fchmodat2, args: [unchecked((ulong)-100), 0x1000, 0x1ff, 0]));
        Assert.Equal(SeccompConstants.RetAllow, Run(FilterBuilder.Build(SyscallFamilies.FilesRead), SyscallNumber.Chmod));
    }

    [Fact]
    public void CloseAndFsyncAreTrappedOnlyForWriteThrough()
    {
        var readMode = FilterBuilder.Build(SyscallFamilies.FilesRead | SyscallFamilies.FilesWrite);
        var writeMode = FilterBuilder.Build(SyscallFamilies.FilesRead | SyscallFamilies.FilesWrite | SyscallFamilies.FilesWriteThrough);

        foreach (var nr in new[] { SyscallNumber.Close, SyscallNumber.Fsync, SyscallNumber.Fdatasync })
        {
            Assert.Equal(SeccompConstants.RetAllow, Run(readMode, nr, args: [3]));
            Assert.Equal(SeccompConstants.RetUserNotif, Run(writeMode, nr, args: [3]));
        }

        Assert.Equal(SeccompConstants.RetAllow, Run(writeMode, SyscallNumber.Fcntl, args: [3, 1]));
    }

    [Fact]
    public void FcntlIsTrappedOnlyWithALockCommandAndFlockAndCloseWithTheLockFamily()
    {
        var locks = FilterBuilder.Build(SyscallFamilies.FilesRead | SyscallFamilies.FileLocks);

        foreach (var command in new[] { 5, 6, 7, 36, 37, 38 }) // F_GETLK, F_SETLK, F_SETLKW and their F_OFD_ forms
        {
            Assert.Equal(SeccompConstants.RetUserNotif, Run(locks, SyscallNumber.Fcntl, args: [3, (ulong)command, 0x1000]));
        }

        foreach (var command in new[] { 0, 1, 2, 3, 4, 1030 }) // F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_DUPFD_CLOEXEC
        {
            Assert.Equal(SeccompConstants.RetAllow, Run(locks, SyscallNumber.Fcntl, args: [3, (ulong)command, 0]));
        }

        Assert.Equal(SeccompConstants.RetUserNotif, Run(locks, SyscallNumber.Flock, args: [3, 2]));
        Assert.Equal(SeccompConstants.RetUserNotif, Run(locks, SyscallNumber.Close, args: [3]));
        Assert.Equal(SeccompConstants.RetAllow, Run(FilterBuilder.Build(SyscallFamilies.FilesRead), SyscallNumber.Flock, args: [3, 2]));
        Assert.Equal(SeccompConstants.RetAllow, Run(FilterBuilder.Build(SyscallFamilies.FilesRead), SyscallNumber.Fcntl, args: [3, 6, 0x1000]));
    }

    [Fact]
    public void SendtoIsTrappedOnlyWithADestination()
    {
        var program = FilterBuilder.Build(SyscallFamilies.OutgoingUdp);

        Assert.Equal(SeccompConstants.RetAllow, Run(program, SyscallNumber.SendTo, args: [3, 0x1000, 10, 0, 0, 0]));
        Assert.Equal(SeccompConstants.RetUserNotif, Run(program, SyscallNumber.SendTo, args: [3, 0x1000, 10, 0, 0x7fff_0000_1000, 16]));
        Assert.Equal(SeccompConstants.RetUserNotif, Run(program, SyscallNumber.SendTo, args: [3, 0x1000, 10, 0, 0x1_0000_0000, 16]));
        Assert.Equal(SeccompConstants.RetAllow, Run(program, SyscallNumber.RecvFrom, args: [3, 0x1000, 10, 0, 0, 0]));
        Assert.Equal(SeccompConstants.RetUserNotif, Run(program, SyscallNumber.RecvFrom, args: [3, 0x1000, 10, 0, 0x2000, 0x3000]));
    }

    [Fact]
    public void GetsockoptIsTrappedOnlyForSoError()
    {
        var program = FilterBuilder.Build(SyscallFamilies.Outgoing);

        Assert.Equal(SeccompConstants.RetUserNotif, Run(program, SyscallNumber.GetSockOpt, args: [3, 1 /* SOL_SOCKET */, 4 /* SO_ERROR */, 0x1000, 0x2000]));
        Assert.Equal(SeccompConstants.RetAllow, Run(program, SyscallNumber.GetSockOpt, args: [3, 1, 3 /* SO_TYPE */, 0x1000, 0x2000]));
        Assert.Equal(SeccompConstants.RetAllow, Run(program, SyscallNumber.GetSockOpt, args: [3, 6 /* IPPROTO_TCP */, 4 /* TCP_KEEPIDLE */, 0x1000, 0x2000]));
        Assert.Equal(SeccompConstants.RetAllow, Run(FilterBuilder.Build(SyscallFamilies.OutgoingUdp | SyscallFamilies.FilesRead), SyscallNumber.GetSockOpt, args: [3, 1, 4, 0x1000, 0x2000]));
    }

    [Fact]
    public void EveryFamilyTogetherStillAssembles()
    {
        var all = SyscallFamilies.Outgoing | SyscallFamilies.OutgoingUdp | SyscallFamilies.Listen | SyscallFamilies.Accept | SyscallFamilies.FilesRead | SyscallFamilies.FilesWrite | SyscallFamilies.Hostname;
        var program = FilterBuilder.Build(all);

        Assert.Equal(SeccompConstants.RetUserNotif, Run(program, SyscallNumber.Uname));
        Assert.Equal(SeccompConstants.RetUserNotif, Run(program, SyscallNumber.Renameat2));
        Assert.Equal(SeccompConstants.RetAllow, Run(program, SyscallNumber.Read));
        Assert.Equal(SeccompConstants.RetUserNotif, Run(program, SyscallNumber.Execve));
    }

    [Fact]
    public void ExecIsTrappedOnlyWhereFilesAreServed()
    {
        // A relative program in a pod working directory must not run another file (FileHandler.Exec.cs).
        var files = FilterBuilder.Build(SyscallFamilies.FilesRead | SyscallFamilies.FilesWrite);
        var network = FilterBuilder.Build(SyscallFamilies.Outgoing | SyscallFamilies.Listen | SyscallFamilies.Hostname);

        Assert.Equal(SeccompConstants.RetUserNotif, Run(files, SyscallNumber.Execve));
        Assert.Equal(SeccompConstants.RetUserNotif, Run(files, SyscallNumber.Execveat, args: [3, 0x1000, 0x2000, 0x3000, 0]));
        Assert.Equal(SeccompConstants.RetAllow, Run(network, SyscallNumber.Execve));
        Assert.Equal(SeccompConstants.RetAllow, Run(network, SyscallNumber.Execveat));
    }

    /// <summary>Interprets the subset of classic BPF the builder emits.</summary>
    private static uint Run(byte[] program, int nr, uint arch = SeccompConstants.AuditArchX8664, ulong[]? args = null)
    {
        var data = new byte[64];
        BinaryPrimitives.WriteInt32LittleEndian(data, nr);
        BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(4), arch);
        for (var i = 0; i < (args?.Length ?? 0); i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(16 + (i * 8)), args![i]);
        }

        uint a = 0;
        for (var pc = 0; pc < program.Length / 8;)
        {
            var insn = program.AsSpan(pc * 8, 8);
            var code = BinaryPrimitives.ReadUInt16LittleEndian(insn);
            var k = BinaryPrimitives.ReadUInt32LittleEndian(insn[4..]);
            switch (code)
            {
                case 0x20:
                    a = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan((int)k));
                    pc++;
                    break;
                case 0x15:
                    pc += 1 + (a == k ? insn[2] : insn[3]);
                    break;
                case 0x45:
                    pc += 1 + ((a & k) != 0 ? insn[2] : insn[3]);
                    break;
                case 0x35:
                    pc += 1 + (a >= k ? insn[2] : insn[3]);
                    break;
                case 0x06:
                    return k;
                default:
                    throw new InvalidOperationException($"unexpected BPF opcode {code:x}");
            }
        }

        throw new InvalidOperationException("fell off the end of the program");
    }
}
