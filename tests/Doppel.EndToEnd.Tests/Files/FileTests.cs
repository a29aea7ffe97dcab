using System.Diagnostics;
using Doppel.EndToEnd.Tests.Support;
using Doppel.Testing;

namespace Doppel.EndToEnd.Tests.Files;

[Collection(EndToEndCollection.Name)]
public sealed class FileTests(ClusterFixture fixture)
{
    private string Target => $"pid/{fixture.Bff.Pid}";

    [Fact]
    public async Task AppReadsPodFilesAndListsPodDirectories()
    {
        var script = FileScript.Write(fixture);

        var result = await fixture.ExecAsync(["-t", Target, "--", ClusterFixture.Python, script, "read:/app/config.json", "list:/app/data", "read:/app/data/b.txt"]);

        result.AssertSucceededWith("read /app/config.json: '{\"db\":\"postgres\",\"replicas\":3}\\n'\nlist /app/data: a.txt,b.txt\nread /app/data/b.txt: 'bravo bravo\\n'\n");
    }

    [Fact]
    public async Task LsLongListingOfAPodDirectoryShowsThePodFiles()
    {
        var environment = new Dictionary<string, string?> { ["LC_ALL"] = "C", ["TZ"] = "UTC" };
        // What ls prints for the same directory on the host side, through the container's root.
        var expected = await RunLocallyAsync(["ls", "-l", "--time-style=+%F %T", fixture.Bff.HostPath("/app/data")], environment);

        var result = await fixture.ExecAsync(["-t", Target, "--", "ls", "-l", "--time-style=+%F %T", "/app/data"], environment);

        // Every line, the "total" of st_blocks included, must be the pod's.
        result.AssertSucceededWith(expected);
        Assert.Contains("-rw-r--r-- 1 root root 12 2020-01-02 03:04:05 b.txt\n", result.Stdout);
    }

    [Fact]
    public async Task LocalByDefaultPathsStayLocalWhileResolvConfComesFromThePod()
    {
        var script = FileScript.Write(fixture);
        var podResolvConf = await File.ReadAllTextAsync($"/etc/netns/{fixture.Bff.NetworkNamespace}/resolv.conf");

        var result = await fixture.ExecAsync(["-t", Target, "--", ClusterFixture.Python, script, $"read:{fixture.SharedTmpPath}", "read:/etc/resolv.conf"]);

        result.AssertSucceededWith($"read {fixture.SharedTmpPath}: 'from the developer\\n'\nread /etc/resolv.conf: {PythonRepr(podResolvConf)}\n");
    }

    [Fact]
    public async Task NotFoundPathsGiveEnoentAlthoughThePodHasThem()
    {
        var script = FileScript.Write(fixture);
        var config = fixture.WriteFile("not-found.json", """{ "feature": { "fs": { "mode": "read", "not_found": ["^/app/secret"] } } }""");

        var result = await fixture.ExecAsync(["-t", Target, "-f", config, "--", ClusterFixture.Python, script, "read:/app/secret/token.txt", "list:/app/secret", "read:/app/config.json"]);

        result.AssertSucceededWith("read /app/secret/token.txt: ENOENT No such file or directory\nlist /app/secret: ENOENT No such file or directory\nread /app/config.json: '{\"db\":\"postgres\",\"replicas\":3}\\n'\n");
    }

    [Fact]
    public async Task FsMappingServesAPodPathUnderTheNameTheAppUses()
    {
        var script = FileScript.Write(fixture);
        var config = fixture.WriteFile("mapping.json", """{ "feature": { "fs": { "mapping": { "^/srv/settings(/.*)?$": "/app/data$1" } } } }""");

        var result = await fixture.ExecAsync(["-t", Target, "-f", config, "--", ClusterFixture.Python, script, "read:/srv/settings/b.txt", "list:/srv/settings"]);

        result.AssertSucceededWith("read /srv/settings/b.txt: 'bravo bravo\\n'\nlist /srv/settings: a.txt,b.txt\n");
    }

    [Fact]
    public async Task ReadModeRefusesWritesWithErofsAndThePodIsUnchanged()
    {
        var script = FileScript.Write(fixture);

        var result = await fixture.ExecAsync(
            ["-t", Target, "--", ClusterFixture.Python, script, "append:/app/ro/existing.txt:more", "create:/app/ro/new.txt:new", "mkdir:/app/ro/dir", "unlink:/app/ro/existing.txt", "read:/app/ro/existing.txt"]);

        result.AssertSucceededWith("append /app/ro/existing.txt: EROFS Read-only file system\n"
            + "create /app/ro/new.txt: EROFS Read-only file system\n"
            + "mkdir /app/ro/dir: EROFS Read-only file system\n"
            + "unlink /app/ro/existing.txt: EROFS Read-only file system\n"
            + "read /app/ro/existing.txt: 'before\\n'\n");
        Assert.Equal("before\n", await File.ReadAllTextAsync(fixture.Bff.HostPath("/app/ro/existing.txt")));
        Assert.Equal(["existing.txt"], Directory.GetFileSystemEntries(fixture.Bff.HostPath("/app/ro")).Select(Path.GetFileName));
    }

    [Fact]
    public async Task WriteModeCreatesAndModifiesPodFiles()
    {
        var script = FileScript.Write(fixture);

        var result = await fixture.ExecAsync(
            ["-t", Target, "--fs-mode", "write", "--", ClusterFixture.Python, script,
                "create:/app/rw/created.txt:created by the developer", "append:/app/rw/existing.txt:appended", "read:/app/rw/existing.txt",
                "mkdir:/app/rw/made", "unlink:/app/rw/obsolete.txt", "list:/app/rw"]);

        result.AssertSucceededWith(
            "create /app/rw/created.txt: ok\nappend /app/rw/existing.txt: ok\nread /app/rw/existing.txt: 'before\\nappended\\n'\n"
            + "mkdir /app/rw/made: ok\nunlink /app/rw/obsolete.txt: ok\nlist /app/rw: created.txt,existing.txt,made\n");
        Assert.Equal("created by the developer\n", await File.ReadAllTextAsync(fixture.Bff.HostPath("/app/rw/created.txt")));
        Assert.Equal("before\nappended\n", await File.ReadAllTextAsync(fixture.Bff.HostPath("/app/rw/existing.txt")));
        Assert.True(Directory.Exists(fixture.Bff.HostPath("/app/rw/made")), "mkdir reached the pod");
        Assert.False(File.Exists(fixture.Bff.HostPath("/app/rw/obsolete.txt")), "unlink reached the pod");
        var inPod = await fixture.Bff.ExecAsync(["cat", "/app/rw/created.txt", "/app/rw/existing.txt"], CancellationToken.None);
        Assert.Equal("created by the developer\nbefore\nappended\n", inPod.StandardOutput);
    }

    [Fact]
    public async Task AnOpenForWritingOfAFileThePodRefusesFailsAtTheOpenWithThePodsErrno()
    {
        var script = FileScript.Write(fixture);
        var directory = $"/app/locked-{Guid.NewGuid():N}"[..20];
        var path = directory + "/settings.txt";
        var hostPath = fixture.Bff.HostPath(path);
        Directory.CreateDirectory(fixture.Bff.HostPath(directory));
        await File.WriteAllTextAsync(hostPath, "before\n");
        try
        {
            // Immutable: the pod refuses the write even to the agent, which runs as root.
            await RunLocallyAsync(["chattr", "+i", hostPath], new Dictionary<string, string?>());
            Assert.Throws<UnauthorizedAccessException>(() => File.AppendAllText(hostPath, "x"));

            var result = await fixture.ExecAsync(
                ["-t", Target, "--fs-mode", "write", "--", ClusterFixture.Python, script, $"append:{path}:appended", $"read:{path}"]);

            // As on Linux, the open itself fails with the pod's errno (the pod was asked at the open):
            // nothing was written, so nothing is lost and there is nothing to write back (exit 0).
            // A push the pod refuses after the open is WriteThroughTests' EIO-at-fsync-and-close case.
            result.AssertSucceededWith($"append {path}: EPERM Operation not permitted\nread {path}: 'before\\n'\n");
            Assert.DoesNotContain("was not written back", result.Stderr, StringComparison.Ordinal);
            Assert.Equal("before\n", await File.ReadAllTextAsync(hostPath));
        }
        finally
        {
            await RunLocallyAsync(["chattr", "-i", hostPath], new Dictionary<string, string?>());
            Directory.Delete(fixture.Bff.HostPath(directory), recursive: true);
        }
    }

    [Fact]
    public async Task MirrordsLocalWithOverridesSpellingKeepsFilesLocalExceptTheOverrides()
    {
        var script = FileScript.Write(fixture);
        var config = fixture.WriteFile("fs-overrides.json", """{ "feature": { "fs": { "read_only": ["^/app/data"] } } }""");

        var result = await fixture.ExecAsync(
            ["-t", Target, "-f", config, "--fs-mode", "local-with-overrides", "--", ClusterFixture.Python, script, "read:/app/config.json", "read:/app/data/a.txt"]);

        result.AssertSucceededWith("read /app/config.json: ENOENT No such file or directory\nread /app/data/a.txt: 'alpha\\n'\n");
    }

    [Fact]
    public async Task SymlinksInTheContainerCannotReachTheHostsFiles()
    {
        var script = FileScript.Write(fixture);
        Assert.True(File.Exists("/etc/shadow"), "the host has /etc/shadow, which the links aim at");

        var result = await fixture.ExecAsync(
            ["-t", $"container/{fixture.Bff.ContainerId}", "--", ClusterFixture.Python, script, "read:/app/config.json", "read:/app/shadow", "read:/app/escape"]);

        result.AssertSucceededWith("read /app/config.json: '{\"db\":\"postgres\",\"replicas\":3}\\n'\n"
            + "read /app/shadow: ENOENT No such file or directory\n"
            + "read /app/escape: ENOENT No such file or directory\n");
    }

    // Enough of python's repr for text without quotes or backslashes: newlines escaped, in single quotes.
    private static string PythonRepr(string text) => "'" + text.Replace("\n", "\\n") + "'";

    [Fact]
    public async Task AWriteBackToAFullPodFileSystemIsOneSentenceAndThePodKeepsTheOldContentBeforeThePartOfTheAppendThatFit()
    {
        var script = FileScript.Write(fixture);
        var directory = $"/app/full-{Guid.NewGuid():N}"[..18];
        var path = directory + "/out.txt";
        var inPod = $"/proc/{fixture.Bff.Pid}/root"; // the container's own view, its tmpfs included
        Directory.CreateDirectory(fixture.Bff.HostPath(directory));

        // A 256 KiB tmpfs in the container's mount namespace: the old content and a filler leave 12 KiB free.
        await RunLocallyAsync(["nsenter", "-t", $"{fixture.Bff.Pid}", "-m", "-r", "mount", "-t", "tmpfs", "-o", "size=262144", "doppel-e2e", directory], new Dictionary<string, string?>());
        try
        {
            await File.WriteAllTextAsync(inPod + path, "before\n");
            await File.WriteAllBytesAsync(inPod + directory + "/filler", new byte[240 * 1024]);
            var text = new string('x', 20 * 1024);

            var result = await fixture.ExecAsync(["-t", Target, "--fs-mode", "write", "--", ClusterFixture.Python, script, $"append:{path}:{text}"]);

            result.AssertSucceededWith($"append {path}: EIO Input/output error\n", expectedExitCode: 74);
            AssertOneErrorLine(
                result,
                path,
                $"error: {path} was not written back to the pod: the pod's file system is full (No space left on device), so the pod's file may hold only part of the new content: "
                + "free space in the pod, or keep the path local with feature.fs, and run the program again.");

            // Written in place, only the appended bytes: the old content stays, and as much of the append as fit follows it.
            var inPodNow = await File.ReadAllTextAsync(inPod + path);
            Assert.StartsWith("before\n", inPodNow, StringComparison.Ordinal);
            Assert.True(inPodNow.Length < 7 + text.Length && ("before\n" + text).StartsWith(inPodNow, StringComparison.Ordinal), $"{inPodNow.Length} bytes in the pod");
            Assert.Equal(["filler", "out.txt"], Directory.EnumerateFileSystemEntries(inPod + directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        }
        finally
        {
            await RunLocallyAsync(["nsenter", "-t", $"{fixture.Bff.Pid}", "-m", "-r", "umount", directory], new Dictionary<string, string?>());
            Directory.Delete(fixture.Bff.HostPath(directory), recursive: true);
        }
    }

    // The one line of doppel's stderr that names the path.
    private static void AssertOneErrorLine(DoppelExecResult result, string path, string expected)
    {
        var errors = result.Stderr.Split('\n').Where(l => l.Contains(path, StringComparison.Ordinal)).ToList();
        Assert.True(errors.Count == 1, result.ToString());
        Assert.Equal(expected, errors[0]);
    }

    private static async Task<string> RunLocallyAsync(IReadOnlyList<string> command, IReadOnlyDictionary<string, string?> environment)
    {
        var info = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in command.Skip(1))
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        using var process = Process.Start(info)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.Equal(0, process.ExitCode);
        return output;
    }
}
