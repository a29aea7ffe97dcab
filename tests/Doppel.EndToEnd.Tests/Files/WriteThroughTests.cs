using Doppel.EndToEnd.Tests.Support;
using Doppel.Testing;

namespace Doppel.EndToEnd.Tests.Files;

/// <summary>
/// Write mode as other pod processes see it (issue 13, items 2 and 3): names change in the pod at
/// the call, content arrives at fsync/close, the program's own stat sees its latest writes, and a
/// failed send is the program's EIO. Each test works in its own fresh pod directory.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class WriteThroughTests(ClusterFixture fixture)
{
    private string Target => $"pid/{fixture.Bff.Pid}";

    [Fact]
    public async Task ACreatedFileIsInThePodBeforeItIsClosedAndItsContentAfterFsync()
    {
        const string Script = """
            import os, sys
            path = sys.argv[1]
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o640)
            os.write(fd, b"x" * 1000)
            print("open", os.stat(path).st_size, os.access(path, os.F_OK), flush=True)
            sys.stdin.readline()
            os.write(fd, b"y" * 24)
            print("written", os.stat(path).st_size, os.fstat(fd).st_size, flush=True)
            os.fsync(fd)
            print("synced", flush=True)
            sys.stdin.readline()
            os.close(fd)
            print("closed", flush=True)
            """;
        await using var directory = PodDirectory.Make(fixture, "created");
        var path = directory.Path + "/new.txt";

        await using var doppel = DoppelExecProcess.Start(
            RepoPaths.Doppel, fixture.Cluster.Developer.Name, ["-t", Target, "--fs-mode", "write", "--", ClusterFixture.Python, fixture.WriteFile("create.py", Script), path], fixture.WorkDirectory, keepStdinOpen: true);

        // Open and written, not closed: the program's stat and access by path see it with its size...
        Assert.Equal("open 1000 True", await doppel.ReadLineAsync(TimeSpan.FromSeconds(60)));

        // ... and the pod has the name: a pod process sees it, and its own O_EXCL create (noclobber) fails.
        Assert.Equal("new.txt\n", (await fixture.Bff.ExecAsync(["ls", directory.Path], CancellationToken.None)).StandardOutput);
        var clobber = await fixture.Bff.ExecAsync(["sh", "-c", $"set -C; echo pod > {path}"], CancellationToken.None);
        Assert.NotEqual(0, clobber.ExitCode);

        await doppel.WriteLineAsync("");
        Assert.Equal("written 1024 1024", await doppel.ReadLineAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal("synced", await doppel.ReadLineAsync(TimeSpan.FromSeconds(60)));

        // fsync returned: the content is the pod's, with the mode asked for (less the umask 022).
        Assert.Equal(new string('x', 1000) + new string('y', 24), (await fixture.Bff.ExecAsync(["cat", path], CancellationToken.None)).StandardOutput);
        Assert.Equal("640\n", (await fixture.Bff.ExecAsync(["stat", "-c", "%a", path], CancellationToken.None)).StandardOutput);

        await doppel.WriteLineAsync("");
        Assert.Equal("closed", await doppel.ReadLineAsync(TimeSpan.FromSeconds(60)));
        var result = await doppel.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public async Task FiftyAtomicSavesLeaveExactlyTheTargetWithTheLastContent()
    {
        const string Script = """
            import os, sys, tempfile
            directory, target = sys.argv[1], sys.argv[2]
            for i in range(50):
                fd, temporary = tempfile.mkstemp(dir=directory, prefix=".settings.ini-", suffix=".tmp")
                os.write(fd, f"version {i}\n".encode())
                os.fsync(fd)
                os.close(fd)
                os.rename(temporary, target)
            print(sorted(os.listdir(directory)), open(target).read(), end="", flush=True)
            """;
        await using var directory = PodDirectory.Make(fixture, "saves");
        var target = directory.Path + "/settings.ini";
        await File.WriteAllTextAsync(fixture.Bff.HostPath(target), "original\n");

        var result = await fixture.ExecAsync(["-t", Target, "--fs-mode", "write", "--", ClusterFixture.Python, fixture.WriteFile("saves.py", Script), directory.Path, target]);

        result.AssertSucceededWith("['settings.ini'] version 49\n");
        Assert.Equal("settings.ini\n", (await fixture.Bff.ExecAsync(["ls", "-A", directory.Path], CancellationToken.None)).StandardOutput);
        Assert.Equal("version 49\n", (await fixture.Bff.ExecAsync(["cat", target], CancellationToken.None)).StandardOutput);
    }

    [Fact]
    public async Task CoreutilsMvMovesFilesIntoAPodDirectory()
    {
        // mv FILE DIR/ opens DIR with O_PATH|O_DIRECTORY and renames relative to that fd (coreutils 9).
        await using var directory = PodDirectory.Make(fixture, "mv");
        await File.WriteAllTextAsync(fixture.Bff.HostPath(directory.Path + "/f"), "f\n");
        await File.WriteAllTextAsync(fixture.Bff.HostPath(directory.Path + "/g"), "g\n");
        Directory.CreateDirectory(fixture.Bff.HostPath(directory.Path + "/d"));

        var result = await fixture.ExecAsync(["-t", Target, "--fs-mode", "write", "--", "sh", "-c", $"mv {directory.Path}/f {directory.Path}/d/ && mv -t {directory.Path}/d {directory.Path}/g && echo moved"]);

        result.AssertSucceededWith("moved\n");
        var inPod = await fixture.Bff.ExecAsync(["sh", "-c", $"cd {directory.Path} && ls && cat d/f d/g"], CancellationToken.None);
        Assert.Equal("d\nf\ng\n", inPod.StandardOutput);
    }

    [Fact]
    public async Task OExclOfAFileOnlyThePodHasFailsWithEexist()
    {
        const string Script = """
            import errno, os, sys
            try:
                os.open(sys.argv[1], os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                print("created")
            except OSError as e:
                print(errno.errorcode[e.errno])
            """;
        await using var directory = PodDirectory.Make(fixture, "excl");
        var path = directory.Path + "/taken.txt";
        await File.WriteAllTextAsync(fixture.Bff.HostPath(path), "the pod's\n");

        var result = await fixture.ExecAsync(["-t", Target, "--fs-mode", "write", "--", ClusterFixture.Python, fixture.WriteFile("excl.py", Script), path]);

        result.AssertSucceededWith("EEXIST\n");
        Assert.Equal("the pod's\n", await File.ReadAllTextAsync(fixture.Bff.HostPath(path)));
    }

    [Fact]
    public async Task RenameNoReplaceAndExchangeActOnThePodAndAnOpenFdFollowsItsFile()
    {
        const string Script = """
            import ctypes, errno, os, sys
            libc = ctypes.CDLL(None, use_errno=True)
            AT_FDCWD, RENAME_NOREPLACE, RENAME_EXCHANGE = -100, 1, 2
            def renameat2(a, b, flags):
                if libc.renameat2(AT_FDCWD, a.encode(), AT_FDCWD, b.encode(), flags) != 0:
                    return errno.errorcode[ctypes.get_errno()]
                return "ok"
            d = sys.argv[1]
            a, b, n = d + "/a", d + "/b", d + "/n"
            print("noreplace", renameat2(a, b, RENAME_NOREPLACE))
            print("exchange", renameat2(a, b, RENAME_EXCHANGE))
            fd = os.open(n, os.O_CREAT | os.O_WRONLY, 0o644)
            os.write(fd, b"new\n")
            print("exchange open", renameat2(n, a, RENAME_EXCHANGE))
            os.write(fd, b"more\n")
            os.close(fd)
            print("a", repr(open(a).read()), "n", repr(open(n).read()), flush=True)
            """;
        await using var directory = PodDirectory.Make(fixture, "exchange");
        await File.WriteAllTextAsync(fixture.Bff.HostPath(directory.Path + "/a"), "a\n");
        await File.WriteAllTextAsync(fixture.Bff.HostPath(directory.Path + "/b"), "b\n");

        var result = await fixture.ExecAsync(["-t", Target, "--fs-mode", "write", "--", ClusterFixture.Python, fixture.WriteFile("exchange.py", Script), directory.Path]);

        result.AssertSucceededWith("noreplace EEXIST\nexchange ok\nexchange open ok\na 'new\\nmore\\n' n 'b\\n'\n");
        var inPod = await fixture.Bff.ExecAsync(["sh", "-c", $"cd {directory.Path} && for f in *; do printf '%s=' $f; cat $f; done"], CancellationToken.None);
        Assert.Equal("a=new\nmore\nb=a\nn=b\n", inPod.StandardOutput);
    }

    [Fact]
    public async Task APushThePodRefusesIsEioAtFsyncAndCloseAndOneSentenceNamingTheFile()
    {
        const string Script = """
            import errno, os, subprocess, sys
            fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
            # Made immutable only now: an open for writing of a file the pod refuses fails at the open
            # (EPERM, as Linux does); this is the pod refusing a push it accepted the open for.
            subprocess.run(["chattr", "+i", sys.argv[2]], check=True)
            os.write(fd, b"appended\n")
            for name, call in (("fsync", os.fsync), ("close", os.close)):
                try:
                    call(fd)
                    print(name, "ok")
                except OSError as e:
                    print(name, errno.errorcode[e.errno])
            """;
        await using var directory = PodDirectory.Make(fixture, "eio");
        var path = directory.Path + "/locked.txt";
        var hostPath = fixture.Bff.HostPath(path);
        await File.WriteAllTextAsync(hostPath, "before\n");
        try
        {
            // The program makes the file immutable (refused even to the agent, root) through its local
            // path on the node after its open: the pod then refuses the push.
            var result = await fixture.ExecAsync(["-t", Target, "--fs-mode", "write", "--", ClusterFixture.Python, fixture.WriteFile("eio.py", Script), path, hostPath]);

            result.AssertSucceededWith("fsync EIO\nclose EIO\n", expectedExitCode: 74);
            var errors = result.Stderr.Split('\n').Where(l => l.Contains(path, StringComparison.Ordinal)).ToList();
            Assert.True(errors.Count == 1, result.ToString());
            Assert.StartsWith($"error: {path} was not written back to the pod: the pod refuses it (Operation not permitted)", errors[0]);
            Assert.Equal("before\n", await File.ReadAllTextAsync(hostPath));
        }
        finally
        {
            await Commands.RunAsync(["chattr", "-i", hostPath]);
        }
    }

    private static class Commands
    {
        public static async Task RunAsync(IReadOnlyList<string> command)
        {
            using var process = System.Diagnostics.Process.Start(command[0], command.Skip(1))!;
            await process.WaitForExitAsync();
            Assert.Equal(0, process.ExitCode);
        }
    }
}
