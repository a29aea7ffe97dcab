using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using Doppel.Cli.Running;

namespace Doppel.Cli.Tests.Running;

/// <summary>Slots whose agent is gone are removed by a later session (or the last one); slots in use or with a live agent stay.</summary>
public sealed class SharedAgentSlotTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("doppel-slots-test-");

    [Fact]
    public async Task SlotsWhoseAgentIsGoneAndThatNoSessionUsesAreRemovedEveryOtherStays()
    {
        var dead = await DeadPidAsync();
        var agentGone = Slot("container-gone", agentPid: dead);
        var stopped = Slot("container-stopped", agentPid: null); // the last session removed agent.pid and agent.sock
        var endedTarget = Slot($"pid-{dead}-12345", agentPid: Environment.ProcessId);
        var agentRuns = Slot("container-runs", agentPid: Environment.ProcessId);
        var inUse = Slot("container-in-use", agentPid: dead);
        var served = Slot("container-served", agentPid: null);
        using var user = new FileStream(Path.Combine(inUse, "users"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite);
        using var agent = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        agent.Bind(new UnixDomainSocketEndPoint(Path.Combine(served, "agent.sock")));
        agent.Listen();

        var removed = SharedAgentSlot.RemoveStale(_root.FullName);

        Assert.Equal(3, removed);
        Assert.False(Directory.Exists(agentGone));
        Assert.False(Directory.Exists(stopped));
        Assert.False(Directory.Exists(endedTarget));
        Assert.True(Directory.Exists(agentRuns));
        Assert.True(Directory.Exists(inUse));
        Assert.True(Directory.Exists(served));
    }

    public void Dispose() => _root.Delete(recursive: true);

    private string Slot(string key, int? agentPid)
    {
        var directory = Directory.CreateDirectory(Path.Combine(_root.FullName, key)).FullName;
        File.WriteAllText(Path.Combine(directory, "lock"), "");
        File.WriteAllText(Path.Combine(directory, "users"), "");
        if (agentPid is { } pid)
        {
            File.WriteAllText(Path.Combine(directory, "agent.pid"), pid.ToString(CultureInfo.InvariantCulture) + "\n");
        }

        return directory;
    }

    /// <summary>The PID of a child of ours that has exited and been reaped.</summary>
    private static async Task<int> DeadPidAsync()
    {
        using var process = Process.Start("/bin/true")!;
        var pid = process.Id;
        await process.WaitForExitAsync();
        return pid;
    }
}
