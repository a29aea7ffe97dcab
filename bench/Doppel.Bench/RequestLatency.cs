using System.Globalization;

namespace Doppel.Bench;

/// <summary>
/// Figure 5: request latency to the backend pod's echo, directly and under doppel: 64-byte
/// round trips on one connection; new connections (connect, 64 bytes there and back, close);
/// and the round trips again while a second connection of the same program pulls bulk data.
/// The client measures each request and prints its p50 and p99.
/// </summary>
internal static class RequestLatency
{
    private const string Size = "64";

    public static async Task<Table> RunAsync(ClusterRig rig, ClusterSettings settings, CancellationToken cancellationToken)
    {
        var roundTrips = settings.RoundTrips.ToString(CultureInfo.InvariantCulture);
        var connects = settings.Connects.ToString(CultureInfo.InvariantCulture);
        (string Name, string[] Arguments)[] cases =
        [
            ($"round trip, one connection ({settings.RoundTrips:N0})", ["pingpong", rig.BackendIp, ClusterRig.Port, roundTrips, Size]),
            ($"new connection ({settings.Connects:N0})", ["connect", rig.BackendIp, ClusterRig.Port, connects, Size]),
            ($"round trip during bulk pull ({settings.RoundTrips:N0})", ["pingpong", rig.BackendIp, ClusterRig.Port, roundTrips, Size, "bulk"]),
        ];

        var table = new Table(
            $"5. Request latency, µs, 64-byte requests to a TCP echo in the backend pod (median over {settings.Rounds} interleaved runs of each run's p50/p99)",
            1, "request", "direct p50", "doppel p50", "ratio", "direct p99", "doppel p99", "ratio");
        foreach (var (name, arguments) in cases)
        {
            var samples = await Interleave.RunAsync(settings.Rounds,
            [
                async () => await rig.DirectInPodAsync(arguments, cancellationToken),
                async () => await rig.UnderDoppelAsync(arguments, cancellationToken),
            ]);
            var directP50 = Stats.Median(samples[0].Select(r => r["p50_us"]).ToList());
            var doppelP50 = Stats.Median(samples[1].Select(r => r["p50_us"]).ToList());
            var directP99 = Stats.Median(samples[0].Select(r => r["p99_us"]).ToList());
            var doppelP99 = Stats.Median(samples[1].Select(r => r["p99_us"]).ToList());
            table.Add(
                name,
                Format.Number(directP50, 0), Format.Number(doppelP50, 0), Format.Ratio(doppelP50, directP50),
                Format.Number(directP99, 0), Format.Number(doppelP99, 0), Format.Ratio(doppelP99, directP99));
        }

        table.Footer = "new connection = connect + 64 bytes there and back + close; bulk = a forked child of the client pulling from the same server meanwhile.";
        return table;
    }
}
