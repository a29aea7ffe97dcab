using System.Diagnostics;
using Doppel.Linux.Files;
using Doppel.Linux.Native;
using Doppel.Protocol;
using Doppel.Protocol.V1;
using Google.Protobuf;
using Grpc.Core;

namespace Doppel.Agent.Tests.Files;

/// <summary>
/// WriteFile replaces a file through a new file renamed over it, and writes in place where a
/// rename cannot stand in for the file. The agent's target is this test process (pid/SELF): its
/// root is the host's, so the files are in a directory of ours, a real tmpfs of 256 KiB where a
/// full file system is needed.
/// </summary>
public sealed class WriteFileReplacementTests : IAsyncLifetime
{
    private const int TmpfsBytes = 256 * 1024;
    private readonly string _directory = Directory.CreateTempSubdirectory("doppel-write-").FullName;
    private readonly List<string> _mounts = [];
    private AgentProcess? _agent;
    private Grpc.Net.Client.GrpcChannel? _channel;

    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token;

    private FileService.FileServiceClient Files => new(_channel!);

    public async Task InitializeAsync()
    {
        _agent = await AgentProcess.StartAsync($"pid/{Environment.ProcessId}", 30, Timeout, ["--log-level", "debug"]);
        _channel = AgentProcess.Connect(_agent.SocketPath);
    }

    public async Task DisposeAsync()
    {
        _channel?.Dispose();
        if (_agent is not null)
        {
            await _agent.DisposeAsync();
        }

        foreach (var mount in Enumerable.Reverse(_mounts))
        {
            await RunAsync("umount", mount);
        }

        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task AWriteThatFillsTheFileSystemLeavesTheOldContentAndNoNewFile()
    {
        var full = await MountTmpfsAsync("full");
        var path = Path.Join(full, "settings.txt");
        await File.WriteAllTextAsync(path, "before\n");
        await File.WriteAllBytesAsync(Path.Join(full, "filler"), new byte[160 * 1024]);

        var replaced = await WriteAsync(path, new byte[200 * 1024]);
        var created = await WriteAsync(Path.Join(full, "new.txt"), new byte[200 * 1024]);

        Assert.Equal(Errno.ENOSPC, replaced.Error?.Errno);
        Assert.False(replaced.InPlace);
        Assert.Equal("before\n", await File.ReadAllTextAsync(path));
        Assert.Equal(Errno.ENOSPC, created.Error?.Errno);
        Assert.False(created.InPlace);
        Assert.Equal(["filler", "settings.txt"], Names(full)); // no temporary left, no partial new file
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AWriteLeavesTheFileWithItsFinalModeAndMtimeWhetherReplacedOrWrittenInPlace(bool inPlace)
    {
        var path = Path.Join(_directory, $"attributes-{inPlace}.txt");
        await File.WriteAllTextAsync(path, "before\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        if (inPlace)
        {
            await RunAsync("ln", path, path + ".other-name"); // a rename would part the links: written in place
        }

        var response = await WriteAsync(path, "after\n"u8.ToArray(), open =>
        {
            open.FinalMode = 0x1E8; // 0750
            open.FinalMtime = new Timespec { Seconds = 1_600_000_000, Nanoseconds = 500 };
        });

        Assert.Null(response.Error);
        Assert.Equal(inPlace, response.InPlace);
        Assert.Equal("after\n", await File.ReadAllTextAsync(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute, File.GetUnixFileMode(path));
        Assert.Equal(DateTime.UnixEpoch.AddSeconds(1_600_000_000).AddTicks(5), File.GetLastWriteTimeUtc(path));
        Assert.Equal(0x1E8u, response.Stat.Mode & 0xFFF);
        Assert.Equal(1_600_000_000, response.Stat.Mtime.Seconds);
    }

    [Fact]
    public async Task AFailedInPlaceWriteSaysTheFileMayBePartial()
    {
        var full = await MountTmpfsAsync("linked");
        var path = Path.Join(full, "data.bin");
        await File.WriteAllTextAsync(path, "before\n");
        await RunAsync("ln", path, Path.Join(full, "other-name"));
        await File.WriteAllBytesAsync(Path.Join(full, "filler"), new byte[160 * 1024]);

        var response = await WriteAsync(path, new byte[200 * 1024]);

        Assert.Equal(Errno.ENOSPC, response.Error?.Errno);
        Assert.True(response.InPlace);
        Assert.NotEqual("before\n", await File.ReadAllTextAsync(path)); // what the flag warns of
    }

    [Fact]
    public async Task AReplacedFileKeepsItsModeAndOwner()
    {
        var path = Path.Join(_directory, "owned.txt");
        await File.WriteAllTextAsync(path, "before\n");
        await RunAsync("chown", "1234:2345", path);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        Assert.Equal(0, RootedFiles.Stat(path, followSymlinks: false, out var before));

        var response = await WriteAsync(path, "after\n"u8.ToArray());

        Assert.Null(response.Error);
        Assert.False(response.InPlace);
        Assert.Equal("after\n", await File.ReadAllTextAsync(path));
        Assert.Equal(0, RootedFiles.Stat(path, followSymlinks: false, out var after));
        Assert.NotEqual(before.Inode, after.Inode); // a new file took the name
        Assert.Equal((before.Mode, before.Uid, before.Gid), (after.Mode, after.Uid, after.Gid));
        Assert.Equal((0x81A0u, 1234u, 2345u), (after.Mode, after.Uid, after.Gid));
        Assert.Equal(["owned.txt"], Names(_directory));
    }

    [Fact]
    public async Task ABindMountedFileIsWrittenInPlace()
    {
        var source = Path.Join(_directory, "configmap-data");
        var mounted = Path.Join(_directory, "app.conf");
        await File.WriteAllTextAsync(source, "before\n");
        await File.WriteAllTextAsync(mounted, string.Empty);
        await RunAsync("mount", "--bind", source, mounted);
        _mounts.Add(mounted);

        var response = await WriteAsync(mounted, "after\n"u8.ToArray());

        Assert.Null(response.Error);
        Assert.True(response.InPlace);
        Assert.Equal("after\n", await File.ReadAllTextAsync(source)); // the mounted file itself changed
        Assert.Equal(["app.conf", "configmap-data"], Names(_directory));
    }

    [Fact]
    public async Task AHardLinkedFileIsWrittenInPlaceAndKeepsItsLink()
    {
        var path = Path.Join(_directory, "shared.txt");
        var other = Path.Join(_directory, "other-name.txt");
        await File.WriteAllTextAsync(path, "before\n");
        await RunAsync("ln", path, other);

        var response = await WriteAsync(path, "after\n"u8.ToArray());

        Assert.Null(response.Error);
        Assert.True(response.InPlace);
        Assert.Equal(2u, response.Stat.Nlink);
        Assert.Equal("after\n", await File.ReadAllTextAsync(other));
    }

    [Fact]
    public async Task ASymlinkIsFollowedAndItsTargetReplaced()
    {
        var path = Path.Join(_directory, "real.txt");
        var link = Path.Join(_directory, "link.txt");
        await File.WriteAllTextAsync(path, "before\n");
        File.CreateSymbolicLink(link, "real.txt");

        var response = await WriteAsync(link, "after\n"u8.ToArray());

        Assert.Null(response.Error);
        Assert.False(response.InPlace);
        Assert.Equal("after\n", await File.ReadAllTextAsync(path));
        Assert.Equal("real.txt", new FileInfo(link).LinkTarget);
        Assert.Equal(["link.txt", "real.txt"], Names(_directory));
    }

    [Fact]
    public async Task WriteCallsAreLoggedAtDebugLevelWithTheirErrno()
    {
        var path = Path.Join(_directory, "logged.txt");
        var moved = Path.Join(_directory, "moved.txt");
        var made = Path.Join(_directory, "made");

        Assert.Null((await WriteAsync(path, "12345"u8.ToArray())).Error);
        Assert.Null((await Files.TruncateAsync(new TruncateRequest { Path = path, Length = 2 }, cancellationToken: Timeout)).Error);
        Assert.Null((await Files.SetAttributesAsync(new SetAttributesRequest { Path = path, FollowSymlinks = true, Mode = 0x180 }, cancellationToken: Timeout)).Error);
        Assert.Null((await Files.RenameAsync(new RenameRequest { From = path, To = moved }, cancellationToken: Timeout)).Error);
        Assert.Null((await Files.UnlinkAsync(new UnlinkRequest { Path = moved }, cancellationToken: Timeout)).Error);
        Assert.Null((await Files.MkdirAsync(new MkdirRequest { Path = made, Mode = 0x1ED }, cancellationToken: Timeout)).Error);
        Assert.Equal(Errno.EEXIST, (await Files.MkdirAsync(new MkdirRequest { Path = made, Mode = 0x1ED }, cancellationToken: Timeout)).Error.Errno);
        Assert.Null((await Files.RmdirAsync(new RmdirRequest { Path = made }, cancellationToken: Timeout)).Error);
        var log = await _agent!.StopAsync();

        Assert.Contains($"file: wrote 5 bytes to {path} (replaced): errno 0", log, StringComparison.Ordinal);
        Assert.Contains($"file: truncate {path}: errno 0", log, StringComparison.Ordinal);
        Assert.Contains($"file: setattr {path}: errno 0", log, StringComparison.Ordinal);
        Assert.Contains($"file: rename {path} to {moved}: errno 0", log, StringComparison.Ordinal);
        Assert.Contains($"file: unlink {moved}: errno 0", log, StringComparison.Ordinal);
        Assert.Contains($"file: mkdir {made}: errno 0", log, StringComparison.Ordinal);
        Assert.Contains($"file: mkdir {made}: errno {Errno.EEXIST}", log, StringComparison.Ordinal);
        Assert.Contains($"file: rmdir {made}: errno 0", log, StringComparison.Ordinal);
    }

    private static string[] Names(string directory) =>
        [.. Directory.EnumerateFileSystemEntries(directory).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];

    private static async Task RunAsync(params string[] command)
    {
        var info = new ProcessStartInfo(command[0]) { RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in command[1..])
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var error = await process.StandardError.ReadToEndAsync(Timeout);
        await process.WaitForExitAsync(Timeout);
        Assert.True(process.ExitCode == 0, $"{string.Join(' ', command)}: {error}");
    }

    private async Task<string> MountTmpfsAsync(string name)
    {
        var path = Directory.CreateDirectory(Path.Join(_directory, name)).FullName;
        await RunAsync("mount", "-t", "tmpfs", "-o", $"size={TmpfsBytes}", "doppel-test", path);
        _mounts.Add(path);
        return path;
    }

    // As the session sends a write-back: open with create and truncate, then chunks.
    [Fact]
    public async Task AnInPlaceWriteOfRangesWritesEachAtItsOffsetCutsToTheFinalLengthAndKeepsTheInode()
    {
        var path = Path.Join(_directory, "ranges.bin");
        await File.WriteAllTextAsync(path, "0123456789abcdefghij");
        var inode = InodeOf(path);
        await using var held = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite); // a pod process's fd

        var response = await WriteRequestsAsync(
            new WriteFileOpen { Path = path, Mode = 0x1A4, Create = true, InPlace = true, Offset = 2, FinalLength = 15 },
            new WriteFileRequest { Data = ByteString.CopyFromUtf8("XY") },
            new WriteFileRequest { Seek = 10 },
            new WriteFileRequest { Data = ByteString.CopyFromUtf8("ZZZ") });

        Assert.Null(response.Error);
        Assert.True(response.InPlace);
        Assert.Equal(5UL, response.BytesWritten);
        Assert.Equal(15UL, response.Stat.Size);
        Assert.Equal("01XY456789ZZZde", await File.ReadAllTextAsync(path));
        Assert.Equal(inode, InodeOf(path));
        Assert.Equal("01XY456789ZZZde", await new StreamReader(held).ReadToEndAsync());
    }

    [Fact]
    public async Task AnAppendingWriteGoesAtTheFilesEndAsItIsThenWhateverTheOffset()
    {
        var path = Path.Join(_directory, "app.log");
        await File.WriteAllTextAsync(path, "start\n");
        await File.AppendAllTextAsync(path, "pod 1\n"); // appended in the pod after the session read "start\n"

        var response = await WriteRequestsAsync(
            new WriteFileOpen { Path = path, Mode = 0x1A4, Create = true, InPlace = true, Append = true, Offset = 6 },
            new WriteFileRequest { Data = ByteString.CopyFromUtf8("dev 1\n") });

        Assert.Null(response.Error);
        Assert.Equal("start\npod 1\ndev 1\n", await File.ReadAllTextAsync(path));
    }

    [Fact]
    public async Task ASeekInAReplacingWriteIsRefusedAndTheFileKeepsItsContent()
    {
        var path = Path.Join(_directory, "replaced.txt");
        await File.WriteAllTextAsync(path, "before\n");

        var response = await WriteRequestsAsync(
            new WriteFileOpen { Path = path, Mode = 0x1A4, Create = true, Truncate = true },
            new WriteFileRequest { Data = ByteString.CopyFromUtf8("after") },
            new WriteFileRequest { Seek = 100 });

        Assert.Equal(Errno.EINVAL, response.Error?.Errno);
        Assert.Equal("before\n", await File.ReadAllTextAsync(path));
        Assert.Equal(["replaced.txt"], Names(_directory).Where(n => n.StartsWith("replaced", StringComparison.Ordinal) || n.StartsWith(".replaced", StringComparison.Ordinal)));
    }

    private static ulong InodeOf(string path) =>
        RootedFiles.Stat(path, followSymlinks: true, out var info) == 0 ? info.Inode : throw new IOException(path);

    private async Task<WriteFileResponse> WriteRequestsAsync(WriteFileOpen open, params WriteFileRequest[] parts)
    {
        using var call = Files.WriteFile(cancellationToken: Timeout);
        try
        {
            await call.RequestStream.WriteAsync(new WriteFileRequest { Open = open }, Timeout);
            foreach (var part in parts)
            {
                await call.RequestStream.WriteAsync(part, Timeout);
            }

            await call.RequestStream.CompleteAsync();
        }
        catch (RpcException)
        {
            // Answered before every part was read: the answer is the response.
        }

        return await call;
    }

    private async Task<WriteFileResponse> WriteAsync(string path, byte[] content, Action<WriteFileOpen>? change = null)
    {
        using var call = Files.WriteFile(cancellationToken: Timeout);
        try
        {
            var open = new WriteFileOpen { Path = path, Mode = 0x1A4, Create = true, Truncate = true };
            change?.Invoke(open);
            await call.RequestStream.WriteAsync(new WriteFileRequest { Open = open }, Timeout);
            for (var offset = 0; offset < content.Length; offset += Relay.ChunkSize)
            {
                var chunk = content.AsMemory(offset, Math.Min(Relay.ChunkSize, content.Length - offset));
                await call.RequestStream.WriteAsync(new WriteFileRequest { Data = ByteString.CopyFrom(chunk.Span) }, Timeout);
            }

            await call.RequestStream.CompleteAsync();
        }
        catch (RpcException)
        {
            // The agent answered an error before reading every chunk and ended the call, which the
            // next chunk's write sees as OK or Cancelled (GrpcRemote.WriteFileAsync): the answer is the
            // response; without one, awaiting the call throws its real failure.
        }

        return await call;
    }
}
