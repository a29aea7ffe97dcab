using System.Diagnostics;
using Doppel.Session.Files;

namespace Doppel.Session.Tests.Files;

/// <summary>A later session removes the cache trees of killed sessions, and nothing else (<see cref="StaleCaches"/>).</summary>
public sealed class StaleCachesTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("doppel-stale-caches-test-");

    [Fact]
    public async Task OnlyTreesOfDeadSessionsThatAreThisUsersDirectoriesAreRemoved()
    {
        var dead = await DeadPidAsync();
        var live = Environment.ProcessId;
        var deadTree = Tree(dead);
        Directory.CreateDirectory(Path.Combine(deadTree, "etc", "ssl"));
        File.WriteAllText(Path.Combine(deadTree, "etc", "ssl", "secret"), "from the pod");
        File.SetUnixFileMode(Path.Combine(deadTree, "etc"), UnixFileMode.UserRead | UnixFileMode.UserExecute);
        var liveTree = Tree(live);
        var parentTree = Tree(Environment.ProcessId == 1 ? 2 : 1); // pid 1 always runs
        var otherName = Directory.CreateDirectory(Path.Combine(_temp.FullName, $"doppel-cache-{dead}-not-a-session")).FullName;
        var someoneElses = Directory.CreateDirectory(Path.Combine(_temp.FullName, "elsewhere")).FullName;
        var link = Path.Combine(_temp.FullName, $"doppel-cache-{dead}-{Guid.NewGuid():N}");
        File.CreateSymbolicLink(link, someoneElses);
        File.WriteAllText(Path.Combine(someoneElses, "keep"), "not doppel's");
        var othersTree = Tree(dead);
        File.SetUnixFileMode(othersTree, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Chown(othersTree, 4242);

        var removed = StaleCaches.RemoveDead(_temp.FullName);

        Assert.Equal(1, removed);
        Assert.False(Directory.Exists(deadTree));
        Assert.True(Directory.Exists(liveTree));
        Assert.True(Directory.Exists(parentTree));
        Assert.True(Directory.Exists(otherName));
        Assert.Equal(someoneElses, new FileInfo(link).LinkTarget);
        Assert.Equal("not doppel's", File.ReadAllText(Path.Combine(someoneElses, "keep")));
        Assert.True(Directory.Exists(othersTree));
    }

    public void Dispose() => _temp.Delete(recursive: true);

    private string Tree(int pid) => Directory.CreateDirectory(Path.Combine(_temp.FullName, $"doppel-cache-{pid}-{Guid.NewGuid():N}")).FullName;

    /// <summary>The PID of a child of ours that has exited and been reaped.</summary>
    private static async Task<int> DeadPidAsync()
    {
        using var process = Process.Start("/bin/true")!;
        var pid = process.Id;
        await process.WaitForExitAsync();
        return pid;
    }

    private static void Chown(string path, int uid)
    {
        using var chown = Process.Start("chown", [uid.ToString(System.Globalization.CultureInfo.InvariantCulture), path])!;
        chown.WaitForExit();
        Assert.Equal(0, chown.ExitCode);
    }
}
