using System.Globalization;

namespace Doppel.Bench;

/// <summary>
/// Figure 4: one TCP connection moving N bytes to or from the backend pod, from the app pod's
/// netns directly and from the developer netns under doppel (relayed through the agent).
/// The client times connect to last byte (push: to the server's 1-byte acknowledgement).
/// The pull is run twice per round, after a blocking and after a non-blocking connect, in the
/// same interleaved rounds, because under doppel a non-blocking connect takes another path: the
/// app's socket is completed from the holding address and relayed to the stand-in in-process
/// (<c>HeldConnectionRelay</c>), one more loopback hop per byte.
/// </summary>
internal static class TcpThroughput
{
    public static async Task<Table> RunAsync(ClusterRig rig, ClusterSettings settings, CancellationToken cancellationToken)
    {
        var bytes = settings.BulkBytes.ToString(CultureInfo.InvariantCulture);
        var table = new Table(
            $"4. Outgoing TCP throughput, MB/s, one connection, {settings.BulkBytes >> 20} MiB per run (median of {settings.Rounds} interleaved runs)",
            1, "direction", "direct", "doppel", "ratio");

        string[] pull = ["pull", rig.BackendIp, ClusterRig.Port, bytes];
        string[] nonBlockingPull = ["nbpull", rig.BackendIp, ClusterRig.Port, bytes];
        var pulls = await Interleave.RunAsync(settings.Rounds,
        [
            async () => await rig.DirectInPodAsync(pull, cancellationToken),
            async () => await rig.UnderDoppelAsync(pull, cancellationToken),
            async () => await rig.DirectInPodAsync(nonBlockingPull, cancellationToken),
            async () => await rig.UnderDoppelAsync(nonBlockingPull, cancellationToken),
        ]);
        var medians = pulls.Select(runs => Stats.Median(runs.Select(r => r["mbps"]).ToList())).ToArray();
        table.Add("pull (pod server → app)", Format.Number(medians[0], 0), Format.Number(medians[1], 0), Format.Ratio(medians[1], medians[0]));
        table.Add("pull after a non-blocking connect", Format.Number(medians[2], 0), Format.Number(medians[3], 0), Format.Ratio(medians[3], medians[2]));

        string[] push = ["push", rig.BackendIp, ClusterRig.Port, bytes];
        var pushes = await Interleave.RunAsync(settings.Rounds,
        [
            async () => (await rig.DirectInPodAsync(push, cancellationToken))["mbps"],
            async () => (await rig.UnderDoppelAsync(push, cancellationToken))["mbps"],
        ]);
        var directPush = Stats.Median(pushes[0]);
        var doppelPush = Stats.Median(pushes[1]);
        table.Add("push (app → pod server)", Format.Number(directPush, 0), Format.Number(doppelPush, 0), Format.Ratio(doppelPush, directPush));

        table.Footer =
            $"non-blocking connect = O_NONBLOCK, connect → EINPROGRESS, poll POLLOUT, SO_ERROR, O_NONBLOCK cleared; EINPROGRESS in {InProgress(pulls[2])} direct " +
            $"and {InProgress(pulls[3])} doppel runs of {settings.Rounds}.{Environment.NewLine}  Under doppel, non-blocking / blocking pull (same rounds): {Format.Ratio(medians[3], medians[1])}.";
        return table;
    }

    private static int InProgress(List<ResultLine> runs) => runs.Count(r => r["inprogress"] > 0);
}
