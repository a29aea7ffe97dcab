using Doppel.Interception.Policy;
using Doppel.Interception.Tests.Support;

namespace Doppel.Interception.Tests.Files;

/// <summary>
/// What open(O_CREAT) of a pod file costs in remote calls (issue 13): one call where the remote side
/// creates and answers in one (an agent with "files.create-stat"), the path's and its parent's stats
/// before the create where it cannot (an older agent); the errnos the program sees are the same.
/// </summary>
public sealed class CreateCallsTests
{
    private const SyscallFamilies WriteMode = SyscallFamilies.FilesRead | SyscallFamilies.FilesWrite | SyscallFamilies.FilesWriteThrough;

    [Fact]
    public async Task ANewPodFileIsCreatedWithOneRemoteCallAtItsOpen()
    {
        using var fs = new RemoteFileSystem();
        fs.Write("c/.keep", "");
        var path = fs.Prefix + "/c/new.txt";

        var result = await Run.IsolatedAsync(Run.Options("sh", "-c", $"echo created > {path}"), fs.Policy(WriteMode) with { AllowWrites = true }, fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("created\n", await File.ReadAllTextAsync(fs.LocalOf(path)));
        // Before the content goes at the close: the create alone, no stat of the path or its parent.
        Assert.Equal(["Create " + path], OpenCalls(fs, path));
    }

    [Fact]
    public async Task AnOlderRemoteSideStatsThePathAndItsParentBeforeTheCreate()
    {
        using var fs = new RemoteFileSystem(createsInOneCall: false);
        fs.Write("c/.keep", "");
        var path = fs.Prefix + "/c/new.txt";

        var result = await Run.IsolatedAsync(Run.Options("sh", "-c", $"echo created > {path}"), fs.Policy(WriteMode) with { AllowWrites = true }, fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("created\n", await File.ReadAllTextAsync(fs.LocalOf(path)));
        Assert.Equal(["Stat " + path, "Stat " + fs.Prefix + "/c", "WriteFile " + path], OpenCalls(fs, path));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task CreateErrorsAreOpensOwnWhetherOrNotTheRemoteSideCreatesInOneCall(bool oneCall)
    {
        using var fs = new RemoteFileSystem(createsInOneCall: oneCall);
        fs.Write("e/file", "x");
        fs.Write("e/dir/.keep", "");
        var p = fs.Prefix + "/e";
        var script = $$"""
            import os
            def attempt(path, flags):
                try:
                    os.close(os.open(path, flags, 0o640))
                    print(path.rsplit('/', 2)[-2:], "ok")
                except OSError as e:
                    print(path.rsplit('/', 2)[-2:], os.strerror(e.errno))
            attempt("{{p}}/missing/new", os.O_CREAT | os.O_WRONLY)
            attempt("{{p}}/file/new", os.O_CREAT | os.O_WRONLY)
            attempt("{{p}}/file", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            attempt("{{p}}/dir", os.O_CREAT | os.O_WRONLY)
            attempt("{{p}}/fresh", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            attempt("{{p}}/fresh", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            print(oct(os.stat("{{p}}/fresh").st_mode & 0o777))
            """;

        var result = await Run.IsolatedAsync(Run.Options("python3", "-c", script), fs.Policy(WriteMode) with { AllowWrites = true }, fs.Remote);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(
            """
            ['missing', 'new'] No such file or directory
            ['file', 'new'] Not a directory
            ['e', 'file'] File exists
            ['e', 'dir'] Is a directory
            ['e', 'fresh'] ok
            ['e', 'fresh'] File exists
            0o640

            """,
            result.Stdout);
        Assert.Equal("x", await File.ReadAllTextAsync(fs.LocalOf(p + "/file")));
        Assert.True(File.Exists(fs.LocalOf(p + "/fresh")));
    }

    /// <summary>The remote calls on the path and its parent up to the one that created the file (the open's calls).</summary>
    private static string[] OpenCalls(RemoteFileSystem fs, string path)
    {
        var parent = path[..path.LastIndexOf('/')];
        var calls = fs.Remote.Calls.Where(c => c.EndsWith(" " + path, StringComparison.Ordinal) || c.EndsWith(" " + parent, StringComparison.Ordinal)).ToList();
        var created = calls.FindIndex(c => c == "Create " + path || c == "WriteFile " + path);
        return (created < 0 ? calls : calls[..(created + 1)]).ToArray();
    }
}
