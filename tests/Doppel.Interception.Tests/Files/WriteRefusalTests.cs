using Doppel.Interception.Policy;
using Doppel.Interception.Tests.Support;

namespace Doppel.Interception.Tests.Files;

/// <summary>
/// Write mode: a pod file the pod does not let the program write (a read-only file system or
/// mount, a file its user may not write) fails at the open with the pod's errno, as on Linux,
/// and nothing is queued to go back.
/// </summary>
public sealed class WriteRefusalTests
{
    private const int Erofs = 30;
    private const int Eacces = 13;

    [Fact]
    public async Task RedirectingIntoAFileOnAReadOnlyPodFileSystemFailsAtTheOpen()
    {
        using var fs = new RemoteFileSystem();
        var path = fs.Write("ro/app.conf", "original\n");
        fs.Remote.OpenForWritingErrors[path] = Erofs;

        var result = await Run.IsolatedAsync(Run.Options("sh", "-c", $"echo changed > {path}; echo status=$?; cat {path}"), WriteMode(fs), fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Read-only file system", result.Stderr, StringComparison.Ordinal);
        Assert.Equal("status=2\noriginal\n", result.Stdout);
        Assert.Empty(result.Reports); // nothing was written, so nothing failed to go back
        Assert.Equal("original\n", await File.ReadAllTextAsync(fs.LocalOf(path)));
    }

    [Theory]
    [InlineData("r+", Eacces)]
    [InlineData("a", Erofs)]
    [InlineData("w", Eacces)]
    public async Task PythonOpenForWritingGetsThePodsErrno(string mode, int errno)
    {
        using var fs = new RemoteFileSystem();
        var path = fs.Write("data/locked.txt", "kept");
        fs.Remote.OpenForWritingErrors[path] = errno;

        var result = await Run.IsolatedAsync(
            Run.Options("python3", "-c", $"""
                try:
                    open('{path}', '{mode}')
                    print('opened')
                except OSError as e:
                    print(e.errno)
                """),
            WriteMode(fs),
            fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal($"{errno}\n", result.Stdout);
        Assert.Empty(result.Reports);
        Assert.Equal("kept", await File.ReadAllTextAsync(fs.LocalOf(path)));
    }

    [Fact]
    public async Task CreatingAFileInAReadOnlyPodDirectoryFailsAtTheOpen()
    {
        using var fs = new RemoteFileSystem();
        fs.Write("ro/.keep", "");
        var path = fs.Prefix + "/ro/new.txt";
        fs.Remote.WriteErrors[path] = Erofs;

        var result = await Run.IsolatedAsync(Run.Options("sh", "-c", $"touch {path}; echo status=$?"), WriteMode(fs), fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Read-only file system", result.Stderr, StringComparison.Ordinal);
        Assert.Equal("status=1\n", result.Stdout);
        Assert.False(File.Exists(fs.LocalOf(path)));
    }

    private static TestPolicy WriteMode(RemoteFileSystem fs)
        => fs.Policy(SyscallFamilies.FilesRead | SyscallFamilies.FilesWrite | SyscallFamilies.FilesWriteThrough) with { AllowWrites = true };
}
