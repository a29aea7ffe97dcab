using Doppel.Interception.Policy;
using Doppel.Interception.Tests.Support;

namespace Doppel.Interception.Tests.Files;

/// <summary>ln and ln -s with a pod path as the new name never make a link on this machine.</summary>
public sealed class LinkTests
{
    [Fact]
    public async Task RelativeLinksMadeInAPodWorkingDirectoryAreRefusedNotMadeHere()
    {
        using var fs = new RemoteFileSystem();
        fs.Write("app/a.txt", "a");
        var name = $"doppel-link-{Guid.NewGuid():N}";
        var policy = fs.Policy(SyscallFamilies.FilesRead | SyscallFamilies.FilesWrite | SyscallFamilies.FilesWriteThrough) with { AllowWrites = true };

        var result = await Run.IsolatedAsync(
            Run.Options("sh", "-c", $"cd {fs.Prefix}/app && ln -s a.txt {name}; echo s=$?; ln a.txt {name}; echo h=$?; ln /etc/hostname {name}; echo x=$?"),
            policy,
            fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("s=1\nh=1\nx=1\n", result.Stdout);
        Assert.Contains("Operation not permitted", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("Invalid cross-device link", result.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(Environment.CurrentDirectory, name)) || Directory.Exists(Path.Combine(Environment.CurrentDirectory, name)));
        Assert.False(File.Exists(fs.LocalOf(fs.Prefix + "/app/" + name)));
    }

    [Fact]
    public async Task LinksIntoAPodDirectoryGetThePolicysRefusalOfWritesInReadMode()
    {
        using var fs = new RemoteFileSystem();
        fs.Write("app/a.txt", "a");

        var result = await Run.IsolatedAsync(Run.Options("ln", "-s", "a.txt", fs.Prefix + "/app/b"), fs.Policy(), fs.Remote);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("Permission denied", result.Stderr, StringComparison.Ordinal); // the test policy denies writes (doppel's read mode: EROFS)
        Assert.False(File.Exists(fs.LocalOf(fs.Prefix + "/app/b")));
    }
}
