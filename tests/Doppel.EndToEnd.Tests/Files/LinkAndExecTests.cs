using Doppel.EndToEnd.Tests.Support;
using Doppel.Testing;

namespace Doppel.EndToEnd.Tests.Files;

/// <summary>
/// Write mode's links and a pod working directory's relative programs (issue 13, items 1 and 2):
/// <c>ln</c>, <c>ln -s</c> and python's os.link/os.symlink relative to a pod directory make the
/// name in the pod at the call; <c>cd /pod/dir &amp;&amp; ./prog</c> never runs a local <c>./prog</c>.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class LinkAndExecTests(ClusterFixture fixture)
{
    private string Target => $"pid/{fixture.Bff.Pid}";

    [Fact]
    public async Task LnAndLnSRelativeToAPodDirectoryAreInThePodBeforeTheProgramEnds()
    {
        await using var directory = PodDirectory.Make(fixture, "ln");
        await File.WriteAllTextAsync(fixture.Bff.HostPath(directory.Path + "/a.txt"), "a\n");

        // The shell waits on stdin after the links: the pod is looked at while the program still runs.
        await using var doppel = DoppelExecProcess.Start(
            RepoPaths.Doppel,
            fixture.Cluster.Developer.Name,
            ["-t", Target, "--fs-mode", "write", "--", "sh", "-c", $"cd {directory.Path} && ln -s a.txt s && ln a.txt h && echo linked && read x && ln -s a.txt s; echo again=$?"],
            fixture.WorkDirectory,
            keepStdinOpen: true);

        Assert.Equal("linked", await doppel.ReadLineAsync(TimeSpan.FromSeconds(60)));
        var inPod = await fixture.Bff.ExecAsync(["sh", "-c", $"cd {directory.Path} && readlink s && cat s h && [ $(stat -c %i a.txt) = $(stat -c %i h) ] && echo same"], CancellationToken.None);
        Assert.Equal("a.txt\na\na\nsame\n", inPod.StandardOutput);

        await doppel.WriteLineAsync("");
        var result = await doppel.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("linked\nagain=1\n", result.Stdout);
        Assert.Contains("File exists", result.Stderr, StringComparison.Ordinal);
        foreach (var name in new[] { "s", "h" })
        {
            Assert.False(Path.Exists(Path.Combine(fixture.WorkDirectory, name)), $"{name} was made on this machine");
        }
    }

    [Fact]
    public async Task PythonLinksAFileStillBeingWrittenAndItsLaterWritesReachTheNewNameAtClose()
    {
        const string Script = """
            import errno, os, sys
            os.chdir(sys.argv[1])
            fd = os.open("new.txt", os.O_CREAT | os.O_WRONLY, 0o644)
            os.write(fd, b"before the link\n")
            os.link("new.txt", "linked.txt")
            os.symlink("linked.txt", "current")
            print("linked", flush=True)
            sys.stdin.readline()
            os.write(fd, b"after it\n")
            os.close(fd)
            try:
                os.link("/etc/passwd", "local.txt")
            except OSError as e:
                print(errno.errorcode[e.errno])
            print(open("current").read(), end="", flush=True)
            """;
        await using var directory = PodDirectory.Make(fixture, "pylink");

        await using var doppel = DoppelExecProcess.Start(
            RepoPaths.Doppel,
            fixture.Cluster.Developer.Name,
            ["-t", Target, "--fs-mode", "write", "--", ClusterFixture.Python, fixture.WriteFile("pylink.py", Script), directory.Path],
            fixture.WorkDirectory,
            keepStdinOpen: true);

        // Linked while still open: the pod's new name has the content written so far, at once.
        Assert.Equal("linked", await doppel.ReadLineAsync(TimeSpan.FromSeconds(60)));
        var atLink = await fixture.Bff.ExecAsync(["sh", "-c", $"cd {directory.Path} && cat linked.txt && readlink current"], CancellationToken.None);
        Assert.Equal("before the link\nlinked.txt\n", atLink.StandardOutput);

        await doppel.WriteLineAsync("");
        var result = await doppel.WaitAsync(TimeSpan.FromSeconds(60));

        // After the close both names are one file with everything; a local file cannot be linked into the pod.
        result.AssertSucceededWith("linked\nEXDEV\nbefore the link\nafter it\n");
        var inPod = await fixture.Bff.ExecAsync(["sh", "-c", $"cd {directory.Path} && cat linked.txt && [ $(stat -c %i new.txt) = $(stat -c %i linked.txt) ] && ls"], CancellationToken.None);
        Assert.Equal("before the link\nafter it\ncurrent\nlinked.txt\nnew.txt\n", inPod.StandardOutput);
    }

    [Fact]
    public async Task DotSlashProgInAPodDirectoryNeverRunsTheLocalProgAndSaysWhatToDoOnce()
    {
        await using var directory = PodDirectory.Make(fixture, "exec");
        var podProgram = fixture.Bff.HostPath(directory.Path + "/prog");
        await File.WriteAllTextAsync(podProgram, "#!/bin/sh\necho pod prog\n");
        File.SetUnixFileMode(podProgram, (UnixFileMode)0x1ED);

        // doppel's working directory (the kernel's for the shell) has a ./prog of its own.
        var localProgram = Path.Combine(fixture.WorkDirectory, "prog");
        await File.WriteAllTextAsync(localProgram, "#!/bin/sh\necho LOCAL prog\n");
        File.SetUnixFileMode(localProgram, (UnixFileMode)0x1ED);
        try
        {
            var result = await fixture.ExecAsync(["-t", Target, "--", "sh", "-c", $"cd {directory.Path} && ./prog; echo rc=$?; ./prog; echo rc=$?; ./none; sh ./prog; cd {fixture.WorkDirectory} && ./prog"]);

            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Equal("rc=127\nrc=127\npod prog\nLOCAL prog\n", result.Stdout); // sh reads the pod's script
            var warnings = result.Stderr.Split('\n').Where(l => l.Contains("was not run", StringComparison.Ordinal)).ToList();

            // Started there with -C: the launcher finds ./prog here, and it is not run either.
            var started = await fixture.ExecAsync(["-t", Target, "-C", directory.Path, "--", "./prog"]);
            Assert.True(started.ExitCode == 127, started.ToString());
            Assert.Equal("", started.Stdout);
            Assert.Contains("doppel: ./prog: No such file or directory", started.Stderr, StringComparison.Ordinal);
            Assert.Contains($"it is the pod's {directory.Path}/prog", started.Stderr, StringComparison.Ordinal);

            Assert.Equal([$"'./prog' was not run (No such file or directory): it is the pod's {directory.Path}/prog, and doppel runs programs from this machine only, where a relative path from a pod directory would name another file; run a script with its interpreter (sh ./prog reads it from the pod), copy a program here and run it by its absolute path, or run it in the pod."], warnings.Select(WithoutPrefix));
        }
        finally
        {
            File.Delete(localProgram);
        }
    }

    /// <summary>A warning line without doppel's "doppel: warning: " prefix, whatever it is.</summary>
    private static string WithoutPrefix(string line) => line[line.IndexOf('\'', StringComparison.Ordinal)..];
}
