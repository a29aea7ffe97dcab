using System.Globalization;
using Doppel.Linux.Nftables;

namespace Doppel.Linux.Tests;

public sealed class NftContextTests
{
    /// <summary>
    /// libnftables opens its netlink socket without SOCK_CLOEXEC; a child that inherited it would
    /// keep the agent's owner tables alive after the agent died, so the context marks it.
    /// </summary>
    [Fact]
    public void TheContextsNetlinkSocketIsNotInheritedByChildren()
    {
        var before = SocketsWithoutCloseOnExec();
        using var nft = NftContext.Create();
        nft.Run("list tables");

        var left = SocketsWithoutCloseOnExec().Except(before).ToList();
        Assert.True(left.Count == 0, string.Join(" ", left.Select(fd => $"{fd}={new FileInfo($"/proc/self/fd/{fd}").LinkTarget} {File.ReadAllText($"/proc/self/fdinfo/{fd}").Replace("\n", ";")}")));
    }

    private static HashSet<int> SocketsWithoutCloseOnExec()
    {
        const int OCloexec = 0x80000; // 02000000 octal, as /proc/PID/fdinfo prints flags in octal
        var fds = new HashSet<int>();
        foreach (var entry in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            var fd = int.Parse(Path.GetFileName(entry), CultureInfo.InvariantCulture);
            try
            {
                if (new FileInfo(entry).LinkTarget?.StartsWith("socket:", StringComparison.Ordinal) != true)
                {
                    continue;
                }

                var flags = File.ReadLines($"/proc/self/fdinfo/{fd}").First(l => l.StartsWith("flags:", StringComparison.Ordinal));
                if ((Convert.ToInt32(flags["flags:".Length..].Trim(), 8) & OCloexec) == 0)
                {
                    fds.Add(fd);
                }
            }
            catch (IOException)
            {
                // closed meanwhile
            }
        }

        return fds;
    }
}
