using System.Globalization;

namespace Doppel.Bench;

/// <summary>
/// Figure 5: request latency to the backend pod's echo, directly and under doppel: 64-byte
/// round trips on one connection; new connections (connect, 64 bytes there and back, close),
/// with a blocking and with a non-blocking connect in the same interleaved rounds (under doppel
/// they take different paths: straight to the stand-in, or parked at the holding listener and
/// completed by simultaneous open); and the round trips again while a second connection of the
/// same program pulls bulk data. The client measures each request and prints its p50 and p99.
/// </summary>
internal static class RequestLatency
{
    private const string Size = "64";

    /// <summary>Connections each connect run opens before its measured ones (p3net's warm-up).</summary>
    private const int ConnectWarmup = 20;

    public static async Task<Table> RunAsync(ClusterRig rig, ClusterSettings settings, CancellationToken cancellationToken)
    {
        var roundTrips = settings.RoundTrips.ToString(CultureInfo.InvariantCulture);
        var connects = settings.Connects.ToString(CultureInfo.InvariantCulture);
        (string Name, string[] Arguments)[][] groups =
        [
            [($"round trip, one connection ({settings.RoundTrips:N0})", ["pingpong", rig.BackendIp, ClusterRig.Port, roundTrips, Size])],
            [
                ($"new connection ({settings.Connects:N0})", ["connect", rig.BackendIp, ClusterRig.Port, connects, Size]),
                ($"new connection, non-blocking ({settings.Connects:N0})", ["nbconnect", rig.BackendIp, ClusterRig.Port, connects, Size]),
            ],
            [($"round trip during bulk pull ({settings.RoundTrips:N0})", ["pingpong", rig.BackendIp, ClusterRig.Port, roundTrips, Size, "bulk"])],
        ];

        var table = new Table(
            $"5. Request latency, µs, 64-byte requests to a TCP echo in the backend pod (median over {settings.Rounds} interleaved runs of each run's p50/p99)",
            1, "request", "direct p50", "doppel p50", "ratio", "direct p99", "doppel p99", "ratio");
        var doppelP50s = new Dictionary<string, double>(StringComparer.Ordinal);
        var doppelP99s = new Dictionary<string, double>(StringComparer.Ordinal);
        var inProgress = "";
        foreach (var group in groups)
        {
            // Every case of a group runs in the same rounds, directly and under doppel.
            var samples = await Interleave.RunAsync(settings.Rounds, group.SelectMany(c => new Func<Task<ResultLine>>[]
            {
                async () => await rig.DirectInPodAsync(c.Arguments, cancellationToken),
                async () => await rig.UnderDoppelAsync(c.Arguments, cancellationToken),
            }).ToList());
            for (var i = 0; i < group.Length; i++)
            {
                var (direct, doppel) = (samples[2 * i], samples[(2 * i) + 1]);
                var directP50 = Stats.Median(direct.Select(r => r["p50_us"]).ToList());
                var doppelP50 = Stats.Median(doppel.Select(r => r["p50_us"]).ToList());
                var directP99 = Stats.Median(direct.Select(r => r["p99_us"]).ToList());
                var doppelP99 = Stats.Median(doppel.Select(r => r["p99_us"]).ToList());
                table.Add(
                    group[i].Name,
                    Format.Number(directP50, 0), Format.Number(doppelP50, 0), Format.Ratio(doppelP50, directP50),
                    Format.Number(directP99, 0), Format.Number(doppelP99, 0), Format.Ratio(doppelP99, directP99));
                doppelP50s[group[i].Arguments[0]] = doppelP50;
                doppelP99s[group[i].Arguments[0]] = doppelP99;
                if (group[i].Arguments[0] == "nbconnect")
                {
                    var perRun = settings.Connects + ConnectWarmup;
                    inProgress = $"EINPROGRESS on {Stats.Median(direct.Select(r => r["inprogress"]).ToList()):N0} (direct) and " +
                        $"{Stats.Median(doppel.Select(r => r["inprogress"]).ToList()):N0} (doppel) of the {perRun:N0} non-blocking connects per run";
                }
            }
        }

        table.Footer =
            "new connection = connect + 64 bytes there and back + close; bulk = a forked child of the client pulling from the same server meanwhile." + Environment.NewLine +
            "  non-blocking = O_NONBLOCK, connect → EINPROGRESS, poll POLLOUT, SO_ERROR, O_NONBLOCK cleared; " + inProgress + "." + Environment.NewLine +
            $"  Under doppel, non-blocking / blocking new connection (same rounds): p50 {Format.Ratio(doppelP50s["nbconnect"], doppelP50s["connect"])}, " +
            $"p99 {Format.Ratio(doppelP99s["nbconnect"], doppelP99s["connect"])}.";
        return table;
    }
}
