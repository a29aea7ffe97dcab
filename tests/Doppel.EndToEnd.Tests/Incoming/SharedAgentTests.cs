using System.Text.RegularExpressions;
using Doppel.EndToEnd.Tests.Support;
using Doppel.Testing;

namespace Doppel.EndToEnd.Tests.Incoming;

/// <summary>
/// One local agent per target: a second session of the same <c>pid/N</c> joins the agent the first
/// started, the agent outlives its starter while the other session runs, and the session that
/// leaves last stops it — also when that session only joined.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed partial class SharedAgentTests(ClusterFixture fixture)
{
    // Prints "ready", then waits for a line on stdin and exits.
    private const string WaitForLine = "import sys\nprint('ready', flush=True)\nsys.stdin.readline()\n";

    [Fact]
    public async Task ASecondSessionJoinsTheFirstsAgentAndTheLastToLeaveStopsItEvenIfItOnlyJoined()
    {
        await using var starter = StartWaiting();
        Assert.Equal("ready", await starter.ReadLineAsync(TimeSpan.FromSeconds(60)));
        var agentPid = AgentPid(starter.SoFar.Stderr);

        await using var joiner = StartWaiting();
        Assert.Equal("ready", await joiner.ReadLineAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains($"shared with another session of pid/{fixture.Backend.Pid})", joiner.SoFar.Stderr, StringComparison.Ordinal);
        Assert.Equal(agentPid, AgentPid(joiner.SoFar.Stderr));

        await starter.WriteLineAsync("bye");
        Assert.Equal(0, (await starter.WaitAsync(TimeSpan.FromSeconds(30))).ExitCode);
        Assert.True(IsAgent(agentPid), "the agent stopped while another session still used it");

        await joiner.WriteLineAsync("bye");
        Assert.Equal(0, (await joiner.WaitAsync(TimeSpan.FromSeconds(30))).ExitCode);

        // The joiner waits for the agent's exit before its own: it is gone now, not agent.ttl later.
        Assert.False(IsAgent(agentPid), $"the agent (pid {agentPid}) outlived the last session");
    }

    private DoppelExecProcess StartWaiting() => DoppelExecProcess.Start(
        RepoPaths.Doppel,
        fixture.Cluster.Developer.Name,
        ["-t", $"pid/{fixture.Backend.Pid}", "--", ClusterFixture.Python, "-c", WaitForLine],
        fixture.WorkDirectory,
        keepStdinOpen: true);

    private static int AgentPid(string stderr)
    {
        var match = AgentReady().Match(stderr);
        Assert.True(match.Success, $"no 'agent ready' line in: {stderr}");
        return int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    // A live doppel-agent under that PID (not a zombie, not a reused PID of another program).
    private static bool IsAgent(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat.Contains("(doppel-agent)", StringComparison.Ordinal) && !stat.Contains(") Z ", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"agent ready \(pid (\d+),")]
    private static partial Regex AgentReady();
}
