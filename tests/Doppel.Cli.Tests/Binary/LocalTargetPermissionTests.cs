using Doppel.Cli.Tests.Support;

namespace Doppel.Cli.Tests.Binary;

/// <summary>A local target needs root: run as nobody, exec says so in one sentence and runs nothing.</summary>
public sealed class LocalTargetPermissionTests
{
    [Fact]
    public async Task ALocalTargetWithoutRootIsOneSentenceAndExit77()
    {
        using var dir = new TempDir();
        File.SetUnixFileMode(dir.Path, (UnixFileMode)0x1FF); // nobody can write here: a program that did run would leave the marker
        var marker = Path.Combine(dir.Path, "ran");
        var binary = RunnableByNobody(dir.Path);

        var (code, _, stderr) = await DoppelBinaries.RunAsync(
            "setpriv",
            dir.Path,
            new Dictionary<string, string> { ["HOME"] = dir.Path },
            "--reuid=65534", "--regid=65534", "--clear-groups", binary, "exec", "-t", "pid/1", "--", "touch", marker);

        Assert.Equal(ExitCodes.NoPermission, code);
        Assert.Equal(
            "error: target 'pid/1' needs a local agent, which joins the target's namespaces and so must run as root: run doppel as root (for example with sudo).",
            stderr.Trim());
        Assert.False(File.Exists(marker));
    }

    /// <summary>
    /// The NativeAOT build copied where nobody can run it (a checkout may sit under a 0700 home),
    /// else the JIT apphost beside the tests.
    /// </summary>
    private static string RunnableByNobody(string directory)
    {
        if (Environment.GetEnvironmentVariable("DOPPEL_AOT_BINARY") is { Length: > 0 } aot)
        {
            var copy = Path.Combine(directory, "doppel");
            File.Copy(aot, copy);
            File.SetUnixFileMode(copy, (UnixFileMode)0x1ED);
            return copy;
        }

        return Path.Combine(AppContext.BaseDirectory, "doppel");
    }
}
