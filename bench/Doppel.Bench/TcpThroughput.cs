using System.Globalization;

namespace Doppel.Bench;

/// <summary>
/// Figure 4: one TCP connection moving N bytes to or from the backend pod, from the app pod's
/// netns directly and from the developer netns under doppel (relayed through the agent).
/// The client times connect to last byte (push: to the server's 1-byte acknowledgement).
/// </summary>
internal static class TcpThroughput
{
    public static async Task<Table> RunAsync(ClusterRig rig, ClusterSettings settings, CancellationToken cancellationToken)
    {
        var bytes = settings.BulkBytes.ToString(CultureInfo.InvariantCulture);
        var table = new Table(
            $"4. Outgoing TCP throughput, MB/s, one connection, {settings.BulkBytes >> 20} MiB per run (median of {settings.Rounds} interleaved runs)",
            1, "direction", "direct", "doppel", "ratio");
        foreach (var (name, mode) in new[] { ("pull (pod server → app)", "pull"), ("push (app → pod server)", "push") })
        {
            string[] arguments = [mode, rig.BackendIp, ClusterRig.Port, bytes];
            var samples = await Interleave.RunAsync(settings.Rounds,
            [
                async () => (await rig.DirectInPodAsync(arguments, cancellationToken))["mbps"],
                async () => (await rig.UnderDoppelAsync(arguments, cancellationToken))["mbps"],
            ]);
            var direct = Stats.Median(samples[0]);
            var doppel = Stats.Median(samples[1]);
            table.Add(name, Format.Number(direct, 0), Format.Number(doppel, 0), Format.Ratio(doppel, direct));
        }

        return table;
    }
}
