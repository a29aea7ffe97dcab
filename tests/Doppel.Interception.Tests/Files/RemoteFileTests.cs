using Doppel.Interception.Policy;
using Doppel.Interception.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Doppel.Interception.Tests.Files;

public sealed class RemoteFileTests
{
    [Fact]
    public async Task CatReadsARemoteFile()
    {
        using var fs = new RemoteFileSystem();
        var path = fs.Write("etc/app.conf", "remote content\n");

        var result = await Run.IsolatedAsync(Run.Options("cat", path), fs.Policy(), fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("remote content\n", result.Stdout);
        Assert.Contains(path, fs.Remote.Reads);
    }

    [Fact]
    public async Task ColdOpenOfARemoteFileTakesOneRemoteCall()
    {
        using var fs = new RemoteFileSystem();
        var path = fs.Write("etc/4k.bin", new string('x', 4096));

        var result = await Run.IsolatedAsync(Run.Options("cat", path), fs.Policy(), fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(4096, result.Stdout.Length);
        // The content and its stat come in one call: no stat before it.
        Assert.Equal(1, fs.Remote.FileCalls[path]);
        Assert.Equal([path], fs.Remote.Reads);
    }

    [Fact]
    public async Task ReopenOfAnUnchangedRemoteFileReusesItsContent()
    {
        using var fs = new RemoteFileSystem();
        var path = fs.Write("etc/again.conf", "same\n");

        var result = await Run.IsolatedAsync(Run.Options("sh", "-c", $"cat {path}; cat {path}"), fs.Policy(), fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("same\nsame\n", result.Stdout);
        Assert.Equal([path], fs.Remote.Reads); // the second open only compared the stat
        Assert.Equal(2, fs.Remote.FileCalls[path]);
    }

    [Fact]
    public async Task ReopenOfAChangedRemoteFileFetchesTheNewContent()
    {
        using var fs = new RemoteFileSystem();
        var path = fs.Write("etc/changing.conf", "v1\n");
        var backing = fs.LocalOf(path); // the remote side's own copy: changed behind doppel's back

        var result = await Run.IsolatedAsync(Run.Options("sh", "-c", $"cat {path}; echo version-two > {backing}; cat {path}"), fs.Policy(), fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("v1\nversion-two\n", result.Stdout);
        Assert.Equal([path, path], fs.Remote.Reads);
    }

    [Fact]
    public async Task AFailedWriteBackIsReportedOnceNamingTheFileAndTheProgramEnds()
    {
        using var fs = new RemoteFileSystem();
        var path = fs.Write("locked.txt", "old");
        fs.Remote.WriteErrors[path] = 13; // EACCES: the remote file cannot be written
        var policy = fs.Policy() with { AllowWrites = true };

        // Written, closed (a background write-back), opened again (settled first), then the final flush.
        var result = await Run.IsolatedAsync(Run.Options("sh", "-c", $"echo new > {path}; cat {path}"), policy, fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("new\n", result.Stdout); // the program's own view keeps its write
        var report = Assert.Single(result.Reports);
        Assert.StartsWith($"{path} was not written back to the pod: the pod refuses it (Permission denied), so ", report);
        Assert.Equal("old", await File.ReadAllTextAsync(fs.LocalOf(path)));
        Assert.True(fs.Remote.FileCalls[path] >= 2, "the final flush tried again"); // after the close and at the exit
    }

    [Fact]
    public async Task WritesThroughAnFdOpenedBeforeARenameReachTheRemoteUnderTheNewName()
    {
        using var fs = new RemoteFileSystem();
        var from = fs.Write("out/before.txt", string.Empty);
        var to = fs.Prefix + "/out/after.txt";
        var policy = fs.Policy(SyscallFamilies.FilesRead | SyscallFamilies.FilesWrite) with { AllowWrites = true };

        var result = await Run.IsolatedAsync(
            Run.Options("sh", "-c", $"exec 3>{from}; echo first >&3; mv {from} {to}; echo second >&3; exec 3>&-; cat {to}"), policy, fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("first\nsecond\n", result.Stdout);
        Assert.Equal("first\nsecond\n", await File.ReadAllTextAsync(fs.LocalOf(to)));
        Assert.False(File.Exists(fs.LocalOf(from)), "a file is left under the old name");
        Assert.Empty(result.Reports);
    }

    [Fact]
    public async Task MissingRemoteFileIsNotFound()
    {
        using var fs = new RemoteFileSystem();

        var result = await Run.IsolatedAsync(Run.Options("cat", fs.Prefix + "/nope"), fs.Policy(), fs.Remote);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("No such file or directory", result.Stderr);
    }

    [Fact]
    public async Task LsLongListsARemoteDirectoryWithRemoteMetadata()
    {
        using var fs = new RemoteFileSystem();
        fs.Write("dir/a.txt", "12345", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        fs.Write("dir/sub/b.txt", "b");
        fs.Symlink("dir/link", "a.txt");
        File.SetLastWriteTimeUtc(fs.LocalOf(fs.Prefix + "/dir/a.txt"), new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Utc));

        var result = await Run.IsolatedAsync(
            Run.Options("ls", "-l", "-n", "--time-style=+%Y-%m-%d", fs.Prefix + "/dir"),
            fs.Policy(),
            fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => string.Join(' ', l.Split(' ', StringSplitOptions.RemoveEmptyEntries))).ToArray();
        Assert.Contains(lines, l => l.StartsWith("-rw-r----- 1 1234 2345 5 2020-01-02 a.txt", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("lrwxrwxrwx 1 1234 2345 5 ", StringComparison.Ordinal) && l.EndsWith("link -> a.txt", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith('d') && l.EndsWith(" sub", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StatShowsRemoteSizeModeAndOwner()
    {
        using var fs = new RemoteFileSystem();
        var path = fs.Write("data.bin", new string('x', 1000), UnixFileMode.UserRead | UnixFileMode.UserExecute);

        var result = await Run.IsolatedAsync(Run.Options("stat", "-c", "%s %a %u %g %F", path), fs.Policy(), fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("1000 500 1234 2345 regular file\n", result.Stdout);
    }

    [Fact]
    public async Task FindWalksARemoteTree()
    {
        using var fs = new RemoteFileSystem();
        fs.Write("tree/a", "a");
        fs.Write("tree/x/b", "b");
        fs.Write("tree/x/y/c", "c");

        var result = await Run.IsolatedAsync(Run.Options("find", fs.Prefix + "/tree", "-type", "f"), fs.Policy(), fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        var found = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order().ToArray();
        Assert.Equal([fs.Prefix + "/tree/a", fs.Prefix + "/tree/x/b", fs.Prefix + "/tree/x/y/c"], found);
    }

    [Fact]
    public async Task RelativePathsResolveAgainstTheCallersDirectoryFd()
    {
        using var fs = new RemoteFileSystem();
        fs.Write("rel/inner.txt", "inner\n");
        var script = $$"""
            import os
            d = os.open("{{fs.Prefix}}/rel", os.O_RDONLY | os.O_DIRECTORY)
            f = os.open("inner.txt", os.O_RDONLY, dir_fd=d)
            print(os.read(f, 100).decode(), end="")
            print(os.stat("inner.txt", dir_fd=d).st_size)
            """;

        var result = await Run.IsolatedAsync(Run.Options("python3", "-c", script), fs.Policy(), fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("inner\n6\n", result.Stdout);
    }

    [Fact]
    public async Task PythonOpensListsAndFollowsRemoteEntries()
    {
        using var fs = new RemoteFileSystem();
        fs.Write("py/one.txt", "1");
        fs.Write("py/two.txt", "22");
        fs.Symlink("py/three", "two.txt");
        var script = $$"""
            import os
            p = "{{fs.Prefix}}/py"
            print(sorted(os.listdir(p)))
            print(open(p + "/three").read())
            print(os.readlink(p + "/three"), os.path.islink(p + "/three"), os.path.isdir(p), os.access(p + "/one.txt", os.R_OK))
            print(os.path.exists(p + "/missing"))
            """;

        var result = await Run.IsolatedAsync(Run.Options("python3", "-c", script), fs.Policy(), fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("['one.txt', 'three', 'two.txt']\n22\ntwo.txt True True True\nFalse\n", result.Stdout);
    }

    [Fact]
    public async Task OpenedRemoteFdKeepsCloseOnExecAsRequested()
    {
        using var fs = new RemoteFileSystem();
        var path = fs.Write("fd.txt", "x");
        var script = $$"""
            import os, fcntl
            a = os.open("{{path}}", os.O_RDONLY | os.O_CLOEXEC)
            b = os.open("{{path}}", os.O_RDONLY)
            os.set_inheritable(b, True)
            print(bool(fcntl.fcntl(a, fcntl.F_GETFD) & fcntl.FD_CLOEXEC), bool(fcntl.fcntl(b, fcntl.F_GETFD) & fcntl.FD_CLOEXEC))
            """;

        var result = await Run.IsolatedAsync(Run.Options("python3", "-c", script), fs.Policy(), fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("True False\n", result.Stdout);
    }

    [Fact]
    public async Task WritesAreDeniedWhenThePolicyIsReadOnly()
    {
        using var fs = new RemoteFileSystem();
        var path = fs.Write("ro.txt", "keep");

        var result = await Run.IsolatedAsync(Run.Options("sh", "-c", $"echo changed > {path}"), fs.Policy(), fs.Remote);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("Permission denied", result.Stderr);
        Assert.Equal("keep", await File.ReadAllTextAsync(fs.LocalOf(path)));
    }

    [Fact]
    public async Task WrittenRemoteFileIsSentBackBeforeExit()
    {
        using var fs = new RemoteFileSystem();
        var path = fs.Write("rw.txt", "old");
        var policy = fs.Policy() with { AllowWrites = true };

        var result = await Run.IsolatedAsync(Run.Options("sh", "-c", $"echo new > {path}; cat {path}"), policy, fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("new\n", result.Stdout);
        Assert.True(fs.Remote.Writes.TryGetValue(path, out var written), string.Join(",", fs.Remote.Writes.Keys) + " reads:" + string.Join(",", fs.Remote.Reads));
        Assert.Equal("new\n", System.Text.Encoding.UTF8.GetString(written));
        Assert.True("new\n" == await File.ReadAllTextAsync(fs.LocalOf(path)), fs.LocalOf(path) + " reads:" + string.Join(",", fs.Remote.Reads) + " " + result);
    }

    [Fact]
    public async Task FilesOffTrapsNoFileSyscalls()
    {
        using var fs = new RemoteFileSystem();
        var path = fs.Write("off.txt", "x");

        var result = await Run.IsolatedAsync(Run.Options("sh", "-c", $"cat /etc/hostname > /dev/null; cat {path}"), fs.Policy(SyscallFamilies.Outgoing), fs.Remote);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal(0, result.Statistics!.Notifications);
    }

    [Fact]
    public async Task CoreutilsChangeTheRemoteTreeInWriteMode()
    {
        using var fs = new RemoteFileSystem();
        fs.Write("w/old.txt", "old");
        fs.Write("w/long.txt", "0123456789");
        var p = fs.Prefix + "/w";
        var policy = fs.Policy(SyscallFamilies.FilesRead | SyscallFamilies.FilesWrite) with { AllowWrites = true };
        var script = $"mkdir {p}/new && cp /etc/hostname {p}/new/h && mv {p}/new/h {p}/new/h2 && rm {p}/old.txt && truncate -s 4 {p}/long.txt && ls {p} {p}/new";

        var result = await Run.IsolatedAsync(Run.Options("sh", "-c", script), policy, fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal($"{p}:\nlong.txt\nnew\n\n{p}/new:\nh2\n", result.Stdout);
        var remoteDir = fs.LocalOf(p);
        Assert.Equal(await File.ReadAllTextAsync("/etc/hostname"), await File.ReadAllTextAsync(remoteDir + "/new/h2"));
        Assert.False(File.Exists(remoteDir + "/new/h"));
        Assert.False(File.Exists(remoteDir + "/old.txt"));
        Assert.Equal("0123", await File.ReadAllTextAsync(remoteDir + "/long.txt"));
    }

    [Fact]
    public async Task RemoteChangesAreRefusedInReadMode()
    {
        using var fs = new RemoteFileSystem();
        fs.Write("r/keep.txt", "keep");
        var p = fs.Prefix + "/r";
        var policy = fs.Policy(SyscallFamilies.FilesRead | SyscallFamilies.FilesWrite);

        var result = await Run.IsolatedAsync(Run.Options("sh", "-c", $"rm {p}/keep.txt; mkdir {p}/d; ls {p}"), policy, fs.Remote);

        Assert.Equal("keep.txt\n", result.Stdout);
        Assert.Contains("Permission denied", result.Stderr);
        Assert.True(File.Exists(fs.LocalOf(p) + "/keep.txt"));
        Assert.False(Directory.Exists(fs.LocalOf(p) + "/d"));
    }

    [Fact]
    public async Task CpPreservingAttributesIntoARemoteDirectoryCarriesModeAndTimeInWriteMode()
    {
        using var fs = new RemoteFileSystem();
        fs.Write("p/.keep", "");
        var p = fs.Prefix + "/p";
        var source = Path.Combine(Path.GetTempPath(), $"doppel-cp-p-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(source, "preserved\n");
        File.SetUnixFileMode(source, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead);
        var time = new DateTime(2021, 3, 4, 5, 6, 7, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(source, time);
        var policy = fs.Policy(SyscallFamilies.FilesRead | SyscallFamilies.FilesWrite) with { AllowWrites = true };
        try
        {
            var result = await Run.IsolatedAsync(Run.Options("cp", "-p", source, p + "/copy"), policy, fs.Remote);

            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Equal("", result.Stderr);
            var copy = fs.LocalOf(p + "/copy");
            Assert.Equal("preserved\n", await File.ReadAllTextAsync(copy));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead, File.GetUnixFileMode(copy));
            Assert.Equal(time, File.GetLastWriteTimeUtc(copy));
        }
        finally
        {
            File.Delete(source);
        }
    }

    [Fact]
    public async Task ChmodChownAndTouchChangeARemoteFileInWriteMode()
    {
        using var fs = new RemoteFileSystem();
        var path = fs.Write("m/file", "m", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var policy = fs.Policy(SyscallFamilies.FilesRead | SyscallFamilies.FilesWrite) with { AllowWrites = true };
        var script = $"chmod 600 {path} && chown 4321:5432 {path} && touch -m -d @1600000000 {path} && stat -c '%a %u %g %Y' {path}";

        var result = await Run.IsolatedAsync(Run.Options("sh", "-c", script), policy, fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("600 4321 5432 1600000000\n", result.Stdout);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(fs.LocalOf(path)));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1600000000).UtcDateTime, File.GetLastWriteTimeUtc(fs.LocalOf(path)));
    }

    [Fact]
    public async Task ChmodOfARemoteFileIsRefusedInReadMode()
    {
        using var fs = new RemoteFileSystem();
        var mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        var path = fs.Write("ro/file", "r", mode);
        var policy = fs.Policy(SyscallFamilies.FilesRead | SyscallFamilies.FilesWrite);

        var result = await Run.IsolatedAsync(Run.Options("sh", "-c", $"chmod 600 {path}; echo $?; touch {path}; echo $?"), policy, fs.Remote);

        Assert.Equal("1\n1\n", result.Stdout);
        Assert.Equal(2, result.Stderr.Split("Permission denied").Length - 1);
        Assert.Equal(mode, File.GetUnixFileMode(fs.LocalOf(path)));
    }

    [Fact]
    public async Task WrittenRemoteFileIsSentBackWhenClosedWhileTheProgramRuns()
    {
        using var fs = new RemoteFileSystem();
        var path = fs.Write("live.txt", "v0");
        var backing = fs.LocalOf(path); // the remote side's own copy, local to the test
        var policy = fs.Policy() with { AllowWrites = true };
        var script = $"echo v1 > {path}; for i in $(seq 100); do grep -q v1 {backing} && break; sleep 0.1; done; cat {backing}";

        var result = await Run.IsolatedAsync(Run.Options("sh", "-c", script), policy, fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("v1\n", result.Stdout);
    }

    [Fact]
    public async Task RemoteErrorsReachTheAppAsTheirErrno()
    {
        using var fs = new RemoteFileSystem();
        var path = fs.Write("secret", "s");
        fs.Remote.Errors[path] = 13; // EACCES

        var result = await Run.IsolatedAsync(Run.Options("sh", "-c", $"cat {path}; stat {path}"), fs.Policy(), fs.Remote);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal(2, result.Stderr.Split("Permission denied").Length - 1);
    }

    [Fact]
    public async Task RemoteDirectoryChangesShowUpInALaterListing()
    {
        using var fs = new RemoteFileSystem();
        fs.Write("dir/old", "o");
        var p = fs.Prefix + "/dir";
        var backing = fs.LocalOf(p); // the remote side's own copy: changed behind doppel's back
        var time = new FakeTimeProvider();
        using var resume = new Fifo();

        // The program waits on the fifo between its two listings; the test opens it once the
        // program is there, moves the file sync's clock past the listing lifetime (2 s), and lets it go on.
        var script = $"ls {p}; echo --; touch {backing}/new; rm {backing}/old; read line < {resume.Path}; ls {p}";
        var result = await Run.IsolatedAsync(
            Run.Options("sh", "-c", script),
            fs.Policy(),
            fs.Remote,
            whileRunning: async _ =>
            {
                await using var writer = await resume.OpenWriterAsync(Run.Timeout);
                time.Advance(TimeSpan.FromSeconds(3));
                await writer.WriteAsync("go\n"u8.ToArray());
            },
            time: time);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("old\n--\nnew\n", result.Stdout);
    }
}
