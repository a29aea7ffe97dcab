using System.Diagnostics;
using Doppel.Linux.Namespaces;

namespace Doppel.Linux.Tests.Namespaces;

/// <summary>NamespaceIdentity against real processes: one in this process's namespaces, one in a new network namespace (unshare, needs root as the suite runs).</summary>
public sealed class NamespaceIdentityTests
{
    [Fact]
    public void AProcessInTheSameNetworkNamespaceIsCurrent_OneInANewNetworkNamespaceIsNot()
    {
        using var same = Process.Start("sleep", "30");
        using var other = Process.Start("unshare", ["--net", "sleep", "30"]);
        try
        {
            // unshare execs sleep once the namespace is made: wait for the pid's namespace to differ from ours.
            var deadline = Stopwatch.StartNew();
            while (new FileInfo($"/proc/{other.Id}/ns/net").LinkTarget == new FileInfo("/proc/self/ns/net").LinkTarget && deadline.Elapsed < TimeSpan.FromSeconds(10))
            {
                Thread.Sleep(20);
            }

            Assert.True(NamespaceIdentity.IsCurrent($"/proc/{same.Id}/ns/net", "net"));
            Assert.True(NamespaceIdentity.IsCurrent($"/proc/{same.Id}/ns/uts", "uts"));
            Assert.False(NamespaceIdentity.IsCurrent($"/proc/{other.Id}/ns/net", "net"));
            Assert.True(NamespaceIdentity.IsCurrent($"/proc/{other.Id}/ns/uts", "uts")); // only the network namespace is new
            Assert.False(NamespaceIdentity.IsCurrent("/proc/0/ns/net", "net")); // no such process: not current, the caller joins and fails as before
        }
        finally
        {
            same.Kill();
            other.Kill(entireProcessTree: true);
        }
    }
}
