using Doppel.Interception.Policy;
using Doppel.Interception.Tests.Support;

namespace Doppel.Interception.Tests.Files;

/// <summary>
/// ln and ln -s with a pod path as the new name make the link in the pod (write mode), never on
/// this machine; relative names resolve against the pod working directory.
/// </summary>
public sealed class LinkTests
{
    private const SyscallFamilies WriteMode = SyscallFamilies.FilesRead | SyscallFamilies.FilesWrite | SyscallFamilies.FilesWriteThrough;

    [Fact]
    public async Task RelativeLinksMadeInAPodWorkingDirectoryAreMadeInThePodNotHere()
    {
        using var fs = new RemoteFileSystem();
        fs.Write("app/a.txt", "a");
        var app = fs.Prefix + "/app";
        var policy = fs.Policy(WriteMode) with { AllowWrites = true };

        // The second ln -s is the pod's EEXIST; a hard link from a local file into the pod crosses file systems.
        var result = await Run.IsolatedAsync(
            Run.Options("sh", "-c", "cd " + app + " && ln -s a.txt s && ln a.txt h && cat s h && ln -s a.txt s; echo s=$?; ln /etc/hostname x; echo x=$?; readlink s"),
            policy,
            fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("aas=1\nx=1\na.txt\n", result.Stdout);
        Assert.Contains("File exists", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("Invalid cross-device link", result.Stderr, StringComparison.Ordinal);

        // In the "pod": s holds the target as given, h is a.txt under another name.
        Assert.Equal("a.txt", new FileInfo(fs.LocalOf(app + "/s")).LinkTarget);
        Assert.Equal(Inode(fs.LocalOf(app + "/a.txt")), Inode(fs.LocalOf(app + "/h")));
        Assert.False(File.Exists(fs.LocalOf(app + "/x")));
        foreach (var name in new[] { "s", "h", "x" })
        {
            Assert.False(Path.Exists(Path.Combine(Environment.CurrentDirectory, name)), name);
        }
    }

    [Fact]
    public async Task AFileStillBeingWrittenIsLinkedWithItsContentAndItsLaterWritesReachTheNewNameAtClose()
    {
        using var fs = new RemoteFileSystem();
        var directory = fs.Prefix + "/out";
        Directory.CreateDirectory(fs.LocalOf(directory));
        var script = $$"""
            import os
            os.chdir("{{directory}}")
            fd = os.open("new.txt", os.O_CREAT | os.O_WRONLY, 0o644)
            os.write(fd, b"first\n")
            os.link("new.txt", "linked.txt")
            print(open("{{fs.LocalOf(directory)}}/linked.txt").read(), end="", flush=True)
            os.write(fd, b"second\n")
            os.close(fd)
            print(open("{{fs.LocalOf(directory)}}/linked.txt").read(), end="")
            print(os.stat("linked.txt").st_size, open("linked.txt").read(), end="")
            """;

        var result = await Run.IsolatedAsync(Run.Options("python3", "-c", script), fs.Policy(WriteMode) with { AllowWrites = true }, fs.Remote);

        // The pod's new name has the content written before the link at once, and the rest after the close.
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("first\nfirst\nsecond\n13 first\nsecond\n", result.Stdout);
        Assert.Contains(("link", directory + "/new.txt", directory + "/linked.txt"), fs.Remote.Links);
    }

    [Fact]
    public async Task LinkatFollowsASymlinkOnlyWithAtSymlinkFollowAndAPodDirectoryCannotBeLinked()
    {
        using var fs = new RemoteFileSystem();
        fs.Write("app/data.txt", "data");
        fs.Symlink("app/current", "data.txt");
        Directory.CreateDirectory(fs.LocalOf(fs.Prefix + "/app/d"));
        // ln -P is link(2)-like linkat without AT_SYMLINK_FOLLOW, ln -L passes it; python's os.link
        // of a directory is link(2) itself (ln refuses directories before asking).
        const string Python = """
            import errno, os
            try:
                os.link("d", "d2")
            except OSError as e:
                print(errno.errorcode[e.errno])
            """;
        var script = $"cd {fs.Prefix}/app && ln -P current plain && ln -L current followed && python3 -c '{Python}'";

        var result = await Run.IsolatedAsync(Run.Options("sh", "-c", script), fs.Policy(WriteMode) with { AllowWrites = true }, fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("EPERM\n", result.Stdout);
        Assert.Equal("data.txt", new FileInfo(fs.LocalOf(fs.Prefix + "/app/plain")).LinkTarget); // the symlink itself
        Assert.Null(new FileInfo(fs.LocalOf(fs.Prefix + "/app/followed")).LinkTarget);
        Assert.Equal(Inode(fs.LocalOf(fs.Prefix + "/app/data.txt")), Inode(fs.LocalOf(fs.Prefix + "/app/followed")));
    }

    [Fact]
    public async Task LinksToALocalDirectoryRelativeToAPodWorkingDirectoryAreMadeThere()
    {
        using var fs = new RemoteFileSystem();
        fs.Write("app/a.txt", "a");
        var local = Directory.CreateTempSubdirectory("doppel-links-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(local, "f"), "local f");
            var relative = Path.GetRelativePath(fs.Prefix + "/app", local); // ../../tmp/doppel-links-…
            var result = await Run.IsolatedAsync(
                Run.Options("sh", "-c", $"cd {fs.Prefix}/app && ln -s f {relative}/s && ln {relative}/f {relative}/h && cat {relative}/s"),
                fs.Policy(WriteMode) with { AllowWrites = true },
                fs.Remote);

            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Equal("local f", result.Stdout);
            Assert.Equal("f", new FileInfo(Path.Combine(local, "s")).LinkTarget);
            Assert.Equal(Inode(Path.Combine(local, "f")), Inode(Path.Combine(local, "h")));
            Assert.Empty(fs.Remote.Links);
        }
        finally
        {
            Directory.Delete(local, recursive: true);
        }
    }

    [Fact]
    public async Task LinksIntoAPodDirectoryGetThePolicysRefusalOfWritesInReadMode()
    {
        using var fs = new RemoteFileSystem();
        fs.Write("app/a.txt", "a");

        var result = await Run.IsolatedAsync(Run.Options("ln", "-s", "a.txt", fs.Prefix + "/app/b"), fs.Policy(), fs.Remote);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("Permission denied", result.Stderr, StringComparison.Ordinal); // the test policy denies writes (doppel's read mode: EROFS)
        Assert.False(Path.Exists(fs.LocalOf(fs.Prefix + "/app/b")));
        Assert.Empty(fs.Remote.Links);
    }

    private static ulong? Inode(string path) => Doppel.Linux.Processes.FileCalls.GetIdentity(path)?.Inode;
}
