using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Doppel.Linux.Native;
using Doppel.Linux.Processes;
using Doppel.Linux.Sockets;

namespace Doppel.Linux.Tests;

/// <summary>Doppel.Linux's wrappers making real calls: pidfd, process_vm_readv/writev, uname, SO_PEERCRED, /proc/PID/stat.</summary>
public sealed class SyscallWrapperTests
{
    private const int SigKill = 9;

    [Fact]
    public async Task Pidfd_getfd_takes_another_process_fd()
    {
        // cat's stdout is a pipe to us: bytes written to cat's fd 1, taken with pidfd_getfd, arrive here.
        using var cat = Process.Start(new ProcessStartInfo("cat") { RedirectStandardInput = true, RedirectStandardOutput = true })!;
        try
        {
            using var pidfd = Pidfd.TryOpen(cat.Id, out var errno);
            Assert.True(pidfd is not null, $"pidfd_open failed: errno {errno}");
            using (var stdout = Pidfd.TryGetFd(pidfd, 1, out errno))
            {
                Assert.True(stdout is not null, $"pidfd_getfd failed: errno {errno}");
                using var stream = new FileStream(stdout, FileAccess.Write, bufferSize: 0);
                stream.Write("taken\n"u8);
            }

            Assert.Equal("taken", await cat.StandardOutput.ReadLineAsync());

            Assert.Equal(0, Pidfd.SendSignal(pidfd, SigKill));
            await cat.WaitForExitAsync();
            Assert.Equal(128 + SigKill, cat.ExitCode);
        }
        finally
        {
            if (!cat.HasExited)
            {
                cat.Kill();
            }
        }
    }

    [Fact]
    public void Pidfd_calls_report_the_errno()
    {
        using var self = Pidfd.TryOpen(Environment.ProcessId, out var errno);
        Assert.True(self is not null, $"pidfd_open failed: errno {errno}");

        Assert.Null(Pidfd.TryGetFd(self, 1_000_000, out errno));
        Assert.Equal(Errno.EBADF, errno);

        Assert.Null(Pidfd.TryOpen(int.MaxValue, out errno));
        Assert.Equal(Errno.ESRCH, errno);
    }

    [Fact]
    public unsafe void Process_memory_reads_and_writes_a_process()
    {
        var pid = Environment.ProcessId;
        var memory = (byte*)NativeMemory.AllocZeroed(64);
        try
        {
            "hello\0"u8.CopyTo(new Span<byte>(memory, 64));
            var address = (ulong)memory;

            Assert.Equal("hello", ProcessMemory.ReadCString(pid, address));
            Assert.Equal(5, ProcessMemory.Write(pid, address, "HELLO"u8));
            var read = new byte[5];
            Assert.True(ProcessMemory.ReadExactly(pid, address, read));
            Assert.Equal("HELLO", Encoding.ASCII.GetString(read));

            Assert.Equal(-Errno.EFAULT, ProcessMemory.Read(pid, 0, read));
        }
        finally
        {
            NativeMemory.Free(memory);
        }
    }

    [Fact]
    public void Uname_fills_the_fields_utsname_names()
    {
        Span<byte> uts = stackalloc byte[Utsname.Length];

        Assert.Equal(0, FileCalls.Uname(uts));

        Assert.Equal("Linux", Utsname.ReadField(uts, Utsname.SysnameOffset));
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/hostname").TrimEnd('\n'), Utsname.ReadField(uts, Utsname.NodenameOffset));
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/osrelease").TrimEnd('\n'), Utsname.ReadField(uts, Utsname.ReleaseOffset));
        Assert.Equal("x86_64", Utsname.ReadField(uts, Utsname.MachineOffset));
        Assert.Equal(-Errno.EINVAL, FileCalls.Uname(new byte[Utsname.Length - 1]));
    }

    [Fact]
    public void A_written_field_is_cut_to_64_bytes_and_leaves_its_neighbours()
    {
        var uts = new byte[Utsname.Length];
        uts.AsSpan().Fill((byte)'x');

        Utsname.WriteField(uts, Utsname.NodenameOffset, new string('n', 100));

        Assert.Equal(new string('n', Utsname.FieldLength - 1), Utsname.ReadField(uts, Utsname.NodenameOffset));
        Assert.Equal(0, uts[Utsname.NodenameOffset + Utsname.FieldLength - 1]);
        Assert.Equal((byte)'x', uts[Utsname.NodenameOffset - 1]);
        Assert.Equal((byte)'x', uts[Utsname.ReleaseOffset]);
    }

    [Fact]
    public async Task Peer_credentials_name_the_connecting_process()
    {
        var directory = Directory.CreateTempSubdirectory("doppel-linux-").FullName;
        try
        {
            var path = Path.Combine(directory, "s");
            using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(path));
            listener.Listen();
            using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await client.ConnectAsync(new UnixDomainSocketEndPoint(path));
            using var accepted = await listener.AcceptAsync();

            var credentials = SocketCalls.GetPeerCredentials(accepted);

            Assert.Equal<(int, uint, uint)?>((Environment.ProcessId, EffectiveId("Uid:"), EffectiveId("Gid:")), credentials);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Proc_stat_gives_the_parent_as_proc_status_does()
    {
        var status = ProcessStatus.TryRead(Environment.ProcessId);

        Assert.NotNull(status);
        Assert.Equal(Environment.ProcessId, status.Value.ProcessId);
        Assert.Equal(int.Parse(StatusField("PPid:")[0], CultureInfo.InvariantCulture), status.Value.ParentId);
        Assert.Null(ProcessStatus.TryRead(int.MaxValue));
    }

    [Fact]
    public void Proc_stat_fields_start_after_the_last_parenthesis()
    {
        var status = ProcessStatus.Parse(42, "42 (a) (b c) S 7 8 9 34816 8 4194560 ...");

        Assert.Equal<ProcessStatus?>(new ProcessStatus(42, 7, 8, 9, 34816, 8), status);
        Assert.True(status?.IsInTerminalForeground);
    }

    // /proc/self/status "Uid:" / "Gid:": real, effective, saved, filesystem.
    private static uint EffectiveId(string field) => uint.Parse(StatusField(field)[1], CultureInfo.InvariantCulture);

    private static string[] StatusField(string name) =>
        File.ReadLines("/proc/self/status")
            .Single(line => line.StartsWith(name, StringComparison.Ordinal))[name.Length..]
            .Split('\t', ' ', StringSplitOptions.RemoveEmptyEntries);
}
