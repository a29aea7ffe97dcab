using System.Globalization;

namespace Doppel.Bench;

/// <summary>
/// Figure 7: resident memory (VmRSS) of the doppel-agent doppel starts for the session, and of
/// doppel itself (CLI + supervisor + relays), once the program runs and is idle, and again
/// while it holds N relayed TCP connections to the backend pod (one byte echoed on each, so
/// every relay is established end to end).
/// </summary>
internal static class AgentMemory
{
    private static readonly TimeSpan s_lineTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan s_settle = TimeSpan.FromMilliseconds(500);

    public static async Task<Table> RunAsync(ClusterRig rig, ClusterSettings settings, CancellationToken cancellationToken)
    {
        var held = settings.HeldConnections.ToString(CultureInfo.InvariantCulture);
        var agentIdle = new List<double>();
        var agentHeld = new List<double>();
        var doppelIdle = new List<double>();
        var doppelHeld = new List<double>();
        for (var round = 0; round < settings.Rounds; round++)
        {
            await using var exec = rig.StartUnderDoppel(["hold", rig.BackendIp, ClusterRig.Port, held]);
            await Expect(exec, "idle");
            await Task.Delay(s_settle, cancellationToken);
            var agent = FindAgent(exec.Pid);
            agentIdle.Add(ProcessMemory.ResidentMebibytes(agent));
            doppelIdle.Add(ProcessMemory.ResidentMebibytes(exec.Pid));

            await exec.WriteLineAsync("go");
            await Expect(exec, $"held {held}");
            await Task.Delay(s_settle, cancellationToken);
            agentHeld.Add(ProcessMemory.ResidentMebibytes(agent));
            doppelHeld.Add(ProcessMemory.ResidentMebibytes(exec.Pid));

            await exec.WriteLineAsync("done");
            await exec.WaitAsync(s_lineTimeout, cancellationToken);
        }

        var table = new Table(
            $"7. Resident memory (VmRSS), MiB (median of {settings.Rounds} sessions)",
            1, "process", "idle (session started)", $"{settings.HeldConnections} relayed connections held", "difference");
        table.Add("doppel-agent", Format.Number(Stats.Median(agentIdle), 1), Format.Number(Stats.Median(agentHeld), 1),
            Format.Signed(Stats.Median(agentHeld) - Stats.Median(agentIdle), 1));
        table.Add("doppel (CLI + supervisor)", Format.Number(Stats.Median(doppelIdle), 1), Format.Number(Stats.Median(doppelHeld), 1),
            Format.Signed(Stats.Median(doppelHeld) - Stats.Median(doppelIdle), 1));
        table.Footer = "No direct counterpart: without doppel there is no agent. Read after the program printed its state and 0.5 s passed.";
        return table;

        async Task Expect(DoppelExec exec, string expected)
        {
            var line = await exec.ReadLineAsync(s_lineTimeout, cancellationToken);
            if (line != expected)
            {
                throw new InvalidOperationException($"p3net hold printed '{line}' where '{expected}' was expected.");
            }
        }
    }

    private static int FindAgent(int doppelPid)
    {
        var agents = ProcessMemory.Children(doppelPid, "doppel-agent");
        return agents.Count == 1
            ? agents[0]
            : throw new InvalidOperationException($"doppel (pid {doppelPid}) should have one doppel-agent child, yet it has {agents.Count}.");
    }
}
