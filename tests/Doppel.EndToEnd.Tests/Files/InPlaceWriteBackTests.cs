using System.Text.RegularExpressions;
using Doppel.EndToEnd.Tests.Support;
using Doppel.Linux.Files;
using Doppel.Testing;

namespace Doppel.EndToEnd.Tests.Files;

/// <summary>
/// Write-backs as pod processes that hold the file open see them (issue 13: "nothing a user writes
/// may be lost", close-to-open as on a network file system): the program's bytes go into the pod's
/// file itself, only the ranges it changed, and what it only appended through O_APPEND goes at the
/// pod file's end, so a pod logger's open fd and its lines stay with the file.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed partial class InPlaceWriteBackTests(ClusterFixture fixture)
{
    private string Target => $"pid/{fixture.Bff.Pid}";

    [Fact]
    public async Task APodLoggersLinesAndTheProgramsShellAppendsAllReachTheOneFile()
    {
        var (lines, podLines, sameInode) = await BesideAPodLoggerAsync("applog", path => ["sh", "-c", $"for i in $(seq 1 20); do echo \"dev $i\" >> {path}; sleep 0.02; done; echo done"]);

        AssertHoldsEveryLine(lines, podLines, DevLines(20));
        Assert.True(sameInode); // the file the logger writes is the one the name has
    }

    [Fact]
    public async Task AProgramsLongOpenAppendFdSyncedNowAndThenKeepsThePodLoggersLines()
    {
        const string Script = """
            import os, sys, time
            with open(sys.argv[1], "a") as log:
                for i in range(1, 16):
                    log.write(f"dev {i}\n")
                    log.flush()
                    os.fsync(log.fileno())
                    time.sleep(0.03)
            print("done", flush=True)
            """;
        var (lines, podLines, sameInode) = await BesideAPodLoggerAsync("longlog", path => [ClusterFixture.Python, fixture.WriteFile("longlog.py", Script), path]);

        AssertHoldsEveryLine(lines, podLines, DevLines(15));
        Assert.True(sameInode);
    }

    [Fact]
    public async Task AChangeInTheMiddleOfABigFileSendsOnlyItsBlockIntoTheFileAPodProcessHasOpen()
    {
        const string Script = """
            import sys
            with open(sys.argv[1], "r+b") as f:
                f.seek(2 * 1024 * 1024 + 100)
                f.write(b"CHANGED")
            with open(sys.argv[1], "ab") as f:
                f.write(b"TAIL")
            print("done", flush=True)
            """;
        await using var directory = PodDirectory.Make(fixture, "bigfile");
        var path = directory.Path + "/data.bin";
        var hostPath = fixture.Bff.HostPath(path);
        var original = new byte[4 * 1024 * 1024];
        new Random(13).NextBytes(original);
        await File.WriteAllBytesAsync(hostPath, original);
        await using var reader = new FileStream(hostPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite); // a pod process's open fd

        var result = await fixture.ExecAsync(
            ["-t", Target, "-l", "debug", "--fs-mode", "write", "--", ClusterFixture.Python, fixture.WriteFile("middle.py", Script), path],
            new Dictionary<string, string?> { ["DOPPEL_LOG"] = "debug" });

        Assert.True(result.ExitCode == 0 && result.Stdout == "done\n", result.ToString());
        var expected = original.ToArray();
        "CHANGED"u8.CopyTo(expected.AsSpan(2 * 1024 * 1024 + 100));
        expected = [.. expected, .. "TAIL"u8.ToArray()];

        // The pod process's fd reads the new bytes: the same file, not a new one renamed over it.
        var seen = new byte[expected.Length + 10];
        reader.Position = 0;
        Assert.Equal(expected.Length, reader.ReadAtLeast(seen, seen.Length, throwOnEndOfStream: false));
        Assert.True(expected.AsSpan().SequenceEqual(seen.AsSpan(0, expected.Length)), "the pod's open fd reads other bytes");

        // Two write-backs, each of one 64 KiB block at most (the whole file is 4 MiB); the pod's file
        // held exactly the copy after the first, so the second open read nothing again.
        var writes = WroteLine().Matches(result.Stderr).Where(m => m.Groups["path"].Value == path).Select(m => long.Parse(m.Groups["bytes"].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.True(writes.Where(w => w > 0).ToList() is [<= 64 * 1024, 4], result.Stderr);
        Assert.Single(result.Stderr.Split('\n'), l => l == $"agent: debug: file: reading {path}");
    }

    [Fact]
    public async Task ABlockAPodProcessChangedWhileTheProgramWroteAnotherStaysAndTheProgramReadsItNext()
    {
        const string Script = """
            import sys
            path = sys.argv[1]
            with open(path, "r+b") as f:
                f.write(b"PROGRAM")
                print("written", flush=True)
                sys.stdin.readline()
            with open(path, "rb") as f:
                f.seek(1024 * 1024)
                print(f.read(3).decode(), flush=True)
            """;
        await using var directory = PodDirectory.Make(fixture, "wcc");
        var path = directory.Path + "/data.bin";
        var hostPath = fixture.Bff.HostPath(path);
        await File.WriteAllBytesAsync(hostPath, new byte[2 * 1024 * 1024]);

        await using var doppel = DoppelExecProcess.Start(
            RepoPaths.Doppel, fixture.Cluster.Developer.Name, ["-t", Target, "--fs-mode", "write", "--", ClusterFixture.Python, fixture.WriteFile("wcc.py", Script), path], fixture.WorkDirectory, keepStdinOpen: true);
        Assert.Equal("written", await doppel.ReadLineAsync(TimeSpan.FromSeconds(60)));

        // A pod process writes another block of the file while the program has it open.
        await using (var pod = new FileStream(hostPath, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            pod.Position = 1024 * 1024;
            await pod.WriteAsync("POD"u8.ToArray());
        }

        await doppel.WriteLineAsync("");
        Assert.Equal("POD", await doppel.ReadLineAsync(TimeSpan.FromSeconds(60))); // its reopen sees the pod's write
        var result = await doppel.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(result.ExitCode == 0, result.ToString());

        var bytes = await File.ReadAllBytesAsync(hostPath);
        Assert.Equal(2 * 1024 * 1024, bytes.Length);
        Assert.Equal("PROGRAM", System.Text.Encoding.ASCII.GetString(bytes, 0, 7)); // the program's block
        Assert.Equal("POD", System.Text.Encoding.ASCII.GetString(bytes, 1024 * 1024, 3)); // the pod's, not written over
    }

    [Fact]
    public async Task ANewFileTheProgramAppendsToKeepsThePodsLinesAppendedBeforeItsClose()
    {
        const string Script = """
            import os, sys
            fd = os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644)
            os.write(fd, b"dev1\n")
            print("ready", flush=True)
            sys.stdin.readline()
            os.write(fd, b"dev2\n")
            os.close(fd)
            print("done", flush=True)
            """;
        await using var directory = PodDirectory.Make(fixture, "newlog");
        var path = directory.Path + "/new.log";
        var hostPath = fixture.Bff.HostPath(path);

        await using var doppel = DoppelExecProcess.Start(
            RepoPaths.Doppel, fixture.Cluster.Developer.Name, ["-t", Target, "--fs-mode", "write", "--", ClusterFixture.Python, fixture.WriteFile("newlog.py", Script), path], fixture.WorkDirectory, keepStdinOpen: true);
        Assert.Equal("ready", await doppel.ReadLineAsync(TimeSpan.FromSeconds(60)));
        await File.AppendAllTextAsync(hostPath, "pod1\n"); // the pod's logger opens the new file too
        await File.AppendAllTextAsync(hostPath, "pod2\n");
        await doppel.WriteLineAsync("");
        Assert.Equal("done", await doppel.ReadLineAsync(TimeSpan.FromSeconds(60)));
        var result = await doppel.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("pod1\npod2\ndev1\ndev2\n", await File.ReadAllTextAsync(hostPath)); // the program's lines reach the pod at its close
    }

    [Fact]
    public async Task AnAppendOfManyLinesInOneCloseIsNotSplitByThePodLoggersLines()
    {
        var (lines, podLines, _) = await BesideAPodLoggerAsync("biglog", path => ["sh", "-c", $"seq -f 'dev %g' 1 200000 >> {path}; echo done"], delayMilliseconds: 0);

        AssertHoldsEveryLine(lines, podLines, DevLines(200000));
        var first = Array.IndexOf(lines, "dev 1");
        Assert.Equal(DevLines(200000), lines.Skip(first).Take(200000)); // one write(2): no pod line inside
    }

    [Fact]
    public async Task SparseFilesStaySparseInThePod()
    {
        const string Script = """
            import os, sys
            with open(sys.argv[1], "wb") as f:
                f.seek(256 * 1024 * 1024)
                f.write(b"end")
            os.truncate(sys.argv[2], 128 * 1024 * 1024)
            print("done", flush=True)
            """;
        await using var directory = PodDirectory.Make(fixture, "sparse");
        var created = directory.Path + "/created.bin";
        var grown = directory.Path + "/grown.bin";
        await File.WriteAllTextAsync(fixture.Bff.HostPath(grown), "small\n");

        var result = await fixture.ExecAsync(["-t", Target, "--fs-mode", "write", "--", ClusterFixture.Python, fixture.WriteFile("sparse.py", Script), created, grown]);

        Assert.True(result.ExitCode == 0 && result.Stdout == "done\n", result.ToString());
        foreach (var (path, size) in new[] { (created, (256L * 1024 * 1024) + 3), (grown, 128L * 1024 * 1024) })
        {
            Assert.Equal(0, RootedFiles.Stat(fixture.Bff.HostPath(path), followSymlinks: true, out var info));
            Assert.Equal((ulong)size, info.Size);
            Assert.True(info.Blocks * 512 < 1024 * 1024, $"{path}: {info.Blocks} blocks of 512 bytes allocated");
        }

        await using var file = File.OpenRead(fixture.Bff.HostPath(created));
        file.Position = 256L * 1024 * 1024;
        Assert.Equal("end", await new StreamReader(file).ReadToEndAsync());
    }

    [Fact]
    public async Task APodWriteAndChmodWhileTheProgramHoldsTheFileAreNotUndoneByItsClose()
    {
        const string Script = """
            import sys
            with open(sys.argv[1], "a") as f:
                f.write("dev\n")
                f.flush()
                print("ready", flush=True)
                sys.stdin.readline()
            print("done", flush=True)
            """;
        await using var directory = PodDirectory.Make(fixture, "times");
        var path = directory.Path + "/app.log";
        var hostPath = fixture.Bff.HostPath(path);
        await File.WriteAllTextAsync(hostPath, "start\n");
        File.SetUnixFileMode(hostPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        await using var doppel = DoppelExecProcess.Start(
            RepoPaths.Doppel, fixture.Cluster.Developer.Name, ["-t", Target, "--fs-mode", "write", "--", ClusterFixture.Python, fixture.WriteFile("times.py", Script), path], fixture.WorkDirectory, keepStdinOpen: true);
        Assert.Equal("ready", await doppel.ReadLineAsync(TimeSpan.FromSeconds(60)));
        await Task.Delay(1100); // the pod's write is a second later than the program's
        await File.AppendAllTextAsync(hostPath, "pod\n");
        File.SetUnixFileMode(hostPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var podWrite = File.GetLastWriteTimeUtc(hostPath);
        await doppel.WriteLineAsync("");
        Assert.Equal("done", await doppel.ReadLineAsync(TimeSpan.FromSeconds(60)));
        var result = await doppel.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("start\npod\ndev\n", await File.ReadAllTextAsync(hostPath));
        Assert.True(File.GetLastWriteTimeUtc(hostPath) >= podWrite, $"the pod's mtime went back from {podWrite:O} to {File.GetLastWriteTimeUtc(hostPath):O}");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(hostPath));
    }

    // Runs the program (its arguments given the pod path of a log that starts "start\n") while a pod
    // logger appends to the log; the log's lines, the logger's, and whether the log is still its file.
    private async Task<(string[] Lines, List<string> PodLines, bool SameInode)> BesideAPodLoggerAsync(string name, Func<string, IReadOnlyList<string>> program, int delayMilliseconds = 5)
    {
        await using var directory = PodDirectory.Make(fixture, name);
        var path = directory.Path + "/app.log";
        var hostPath = fixture.Bff.HostPath(path);
        await File.WriteAllTextAsync(hostPath, "start\n");

        await using var logger = PodLogger.Start(hostPath, delayMilliseconds);
        var result = await fixture.ExecAsync(["-t", Target, "--fs-mode", "write", "--", .. program(path)]);
        var podLines = await logger.StopAsync();

        Assert.True(result.ExitCode == 0 && result.Stdout == "done\n", result.ToString());
        return (File.ReadAllLines(hostPath), podLines, logger.Inode == Inode(hostPath));
    }

    private static List<string> DevLines(int count) => [.. Enumerable.Range(1, count).Select(i => $"dev {i}")];

    // Every line is whole; the start line first; the pod logger's lines and the program's each in their own order.
    private static void AssertHoldsEveryLine(string[] lines, IReadOnlyList<string> podLines, IReadOnlyList<string> programLines)
    {
        var text = string.Join("\n", lines);
        Assert.Equal("start", lines[0]);
        Assert.True(podLines.Count > 5, text);
        Assert.Equal(podLines, lines.Where(l => l.StartsWith("pod ", StringComparison.Ordinal)).ToList());
        Assert.Equal(programLines, lines.Where(l => l.StartsWith("dev ", StringComparison.Ordinal)).ToList());
        Assert.Equal(1 + podLines.Count + programLines.Count, lines.Length);
    }

    private static ulong Inode(string hostPath) =>
        RootedFiles.Stat(hostPath, followSymlinks: true, out var info) == 0 ? info.Inode : throw new IOException($"stat {hostPath}");

    [GeneratedRegex(@"file: wrote (?<bytes>\d+) bytes to (?<path>\S+) \((in place|appended)\): errno 0")]
    private static partial Regex WroteLine();

    /// <summary>A pod process that keeps the log open with O_APPEND and writes a line every few milliseconds.</summary>
    private sealed class PodLogger : IAsyncDisposable
    {
        private readonly Microsoft.Win32.SafeHandles.SafeFileHandle _file;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task<List<string>> _writing;

        private readonly int _delayMilliseconds;

        private PodLogger(string hostPath, int delayMilliseconds)
        {
            _delayMilliseconds = delayMilliseconds;
            // O_APPEND, as loggers open their file (.NET's FileMode.Append only seeks to the end once).
            _file = Doppel.Linux.Processes.FileCalls.Open(hostPath, Doppel.Linux.Native.OpenFlags.WriteOnly | Doppel.Linux.Native.OpenFlags.Append, 0, out var errno)
                ?? throw new IOException($"open {hostPath}: errno {errno}");
            Inode = RootedFiles.Stat(hostPath, followSymlinks: true, out var info) == 0 ? info.Inode : 0;
            _writing = Task.Run(WriteAsync);
        }

        public ulong Inode { get; }

        public static PodLogger Start(string hostPath, int delayMilliseconds = 5) => new(hostPath, delayMilliseconds);

        public async Task<List<string>> StopAsync()
        {
            await _stop.CancelAsync();
            return await _writing;
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _writing;
            _file.Dispose();
            _stop.Dispose();
        }

        private async Task<List<string>> WriteAsync()
        {
            var lines = new List<string>();
            for (var i = 1; !_stop.IsCancellationRequested; i++)
            {
                var line = $"pod {i}";
                RandomAccess.Write(_file, System.Text.Encoding.ASCII.GetBytes(line + "\n"), 0); // one pwrite(2) on the O_APPEND fd: at the end
                lines.Add(line);
                if (_delayMilliseconds == 0)
                {
                    continue; // as fast as it can, as `while :; do echo pod; done` writes
                }

                try
                {
                    await Task.Delay(_delayMilliseconds, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }

            return lines;
        }
    }
}
