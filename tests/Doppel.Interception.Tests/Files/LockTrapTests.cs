using Doppel.Interception.Policy;
using Doppel.Interception.Tests.Support;

namespace Doppel.Interception.Tests.Files;

/// <summary>
/// The lock family traps fcntl only with a lock command (the filter compares fcntl's command), so
/// programs that call fcntl(F_GETFL) or fcntl(F_SETFD) in a loop pay nothing for it.
/// </summary>
public sealed class LockTrapTests
{
    private const string Script = """
        import fcntl, struct, sys
        f = open(sys.argv[1], "r+b")
        for _ in range(2000):
            if sys.argv[2] == "getfl":
                fcntl.fcntl(f, fcntl.F_GETFL)
            else:
                fcntl.fcntl(f, fcntl.F_GETLK, struct.pack("hh4xqqi4x", fcntl.F_WRLCK, 0, 0, 0, 0))
        print("done")
        """;

    [Fact]
    public async Task FcntlGetflIsNotTrappedButAFcntlLockCommandIs()
    {
        using var fs = new RemoteFileSystem();
        var local = Path.Combine(Path.GetTempPath(), $"doppel-lock-trap-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(local, "local file\n");
        try
        {
            var getfl = await Run.IsolatedAsync(Run.Options(Python, "-c", Script, local, "getfl"), fs.Policy(SyscallFamilies.FileLocks), fs.Remote);
            var getlk = await Run.IsolatedAsync(Run.Options(Python, "-c", Script, local, "getlk"), fs.Policy(SyscallFamilies.FileLocks), fs.Remote);

            Assert.True(getfl.ExitCode == 0, getfl.ToString());
            Assert.True(getlk.ExitCode == 0, getlk.ToString());

            // 2000 F_GETLK calls are 2000 notifications (continued: a local file); 2000 F_GETFL are none.
            Assert.True(getlk.Statistics!.Notifications >= 2000, $"F_GETLK run: {getlk.Statistics.Notifications} notifications");
            Assert.True(getfl.Statistics!.Notifications < 500, $"F_GETFL run: {getfl.Statistics.Notifications} notifications");
            Assert.True(getlk.Statistics.Notifications - getfl.Statistics.Notifications >= 2000);
        }
        finally
        {
            File.Delete(local);
        }
    }

    private static string Python { get; } = new[] { "/usr/bin/python3", "/usr/local/bin/python3" }.FirstOrDefault(File.Exists) ?? "python3";
}
