using System.Diagnostics;

namespace Doppel.Bench;

/// <summary>
/// Figures 11–12 (<c>--kube</c>): doppel's own port-forward (<c>PodPortForward</c>, a WebSocket
/// per stream through the API server) next to <c>kubectl port-forward</c> (SPDY) to the same pod
/// of the shared test cluster, the same client code on both, in the same interleaved rounds.
/// </summary>
internal static class KubeFigures
{
    private const int Chunk = 64 * 1024;
    private const int RequestSize = 64;
    private const int Warmup = 20;

    public static async Task RunAsync(string header, KubeSettings settings, TextWriter output, CancellationToken cancellationToken)
    {
        await output.WriteLineAsync(header);
        await output.WriteLineAsync(
            "doppel = a stream of Doppel.Kubernetes PodPortForward (one WebSocket, v4.channel.k8s.io, through the API server); " +
            "kubectl = a TCP connection to `kubectl port-forward` on 127.0.0.1 (one SPDY connection to the API server, a stream pair per connection). " +
            "Same client code and pod (busybox nc) for both; every run opens its own stream and times its own work.");
        await output.WriteLineAsync();

        await using var rig = await KubeForwardRig.StartAsync(settings, cancellationToken);
        await output.WriteLineAsync((await ThroughputAsync(rig, settings, cancellationToken)).ToString());
        await output.WriteLineAsync((await LatencyAsync(rig, settings, cancellationToken)).ToString());
    }

    private static async Task<Table> ThroughputAsync(KubeForwardRig rig, KubeSettings settings, CancellationToken cancellationToken)
    {
        var table = new Table(
            $"11. Port-forward TCP throughput, MB/s, one stream, {settings.BulkBytes >> 20} MiB per run (median of {settings.Rounds} interleaved runs)",
            1, "direction", "kubectl", "doppel", "ratio");
        var runs = await Interleave.RunAsync(settings.Rounds,
        [
            () => PushAsync(rig, kubectl: true, settings.BulkBytes, cancellationToken),
            () => PushAsync(rig, kubectl: false, settings.BulkBytes, cancellationToken),
            () => PullAsync(rig, kubectl: true, settings.BulkBytes, cancellationToken),
            () => PullAsync(rig, kubectl: false, settings.BulkBytes, cancellationToken),
        ]);
        var medians = runs.Select(Stats.Median).ToArray();
        table.Add("push (client → pod, to its 'done')", Format.Number(medians[0], 0), Format.Number(medians[1], 0), Format.Ratio(medians[1], medians[0]));
        table.Add("pull (pod → client)", Format.Number(medians[2], 0), Format.Number(medians[3], 0), Format.Ratio(medians[3], medians[2]));
        table.Footer = "ratio = doppel / kubectl (higher is better); timed from the first byte written (push) or asked for (pull), the stream already open.";
        return table;
    }

    private static async Task<Table> LatencyAsync(KubeForwardRig rig, KubeSettings settings, CancellationToken cancellationToken)
    {
        var table = new Table(
            $"12. Port-forward request latency, µs, {RequestSize}-byte requests to a TCP echo in the pod (median over {settings.Rounds} interleaved runs of each run's p50/p99)",
            1, "request", "kubectl p50", "doppel p50", "ratio", "kubectl p99", "doppel p99", "ratio");
        var roundTrips = await Interleave.RunAsync(settings.Rounds,
        [
            () => RoundTripsAsync(rig, kubectl: true, settings.RoundTrips, cancellationToken),
            () => RoundTripsAsync(rig, kubectl: false, settings.RoundTrips, cancellationToken),
        ]);
        Add(table, $"round trip, one stream ({settings.RoundTrips:N0})", roundTrips);
        var connects = await Interleave.RunAsync(settings.Rounds,
        [
            () => ConnectsAsync(rig, kubectl: true, settings.Connects, cancellationToken),
            () => ConnectsAsync(rig, kubectl: false, settings.Connects, cancellationToken),
        ]);
        Add(table, $"new stream ({settings.Connects:N0})", connects);
        table.Footer =
            "ratio = doppel / kubectl (lower is better). new stream = open + 64 bytes there and back + close: doppel opens a WebSocket (TCP + TLS + upgrade) per stream, " +
            "kubectl a TCP connection to itself and a stream pair on its one SPDY connection.";
        return table;
    }

    private static void Add(Table table, string name, List<(double P50, double P99)>[] samples)
    {
        var (kubectl, doppel) = (samples[0], samples[1]);
        var kubectlP50 = Stats.Median(kubectl.Select(s => s.P50).ToList());
        var doppelP50 = Stats.Median(doppel.Select(s => s.P50).ToList());
        var kubectlP99 = Stats.Median(kubectl.Select(s => s.P99).ToList());
        var doppelP99 = Stats.Median(doppel.Select(s => s.P99).ToList());
        table.Add(
            name,
            Format.Number(kubectlP50, 0), Format.Number(doppelP50, 0), Format.Ratio(doppelP50, kubectlP50),
            Format.Number(kubectlP99, 0), Format.Number(doppelP99, 0), Format.Ratio(doppelP99, kubectlP99));
    }

    /// <summary>Writes BYTES to the sink and waits for its "done": MB/s.</summary>
    private static async Task<double> PushAsync(KubeForwardRig rig, bool kubectl, long bytes, CancellationToken cancellationToken)
    {
        await using var stream = await rig.OpenAsync(kubectl, KubeForwardRig.SinkPort, cancellationToken);
        var buffer = new byte[Chunk];
        Random.Shared.NextBytes(buffer);
        var started = Stopwatch.GetTimestamp();
        for (var left = bytes; left > 0; left -= Chunk)
        {
            await stream.WriteAsync(buffer.AsMemory(0, (int)Math.Min(Chunk, left)), cancellationToken);
        }

        await stream.ReadExactlyAsync(new byte[5], cancellationToken);
        return bytes / 1e6 / Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    /// <summary>Reads BYTES from the source: MB/s.</summary>
    private static async Task<double> PullAsync(KubeForwardRig rig, bool kubectl, long bytes, CancellationToken cancellationToken)
    {
        await using var stream = await rig.OpenAsync(kubectl, KubeForwardRig.SourcePort, cancellationToken);
        var buffer = new byte[Chunk];
        var started = Stopwatch.GetTimestamp();
        for (var left = bytes; left > 0;)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(Chunk, left)), cancellationToken);
            left -= n > 0 ? n : throw new BenchException($"The pull ended {left} bytes early.");
        }

        return bytes / 1e6 / Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    /// <summary>COUNT 64-byte round trips on one stream to the echo (after a warm-up): p50 and p99 in µs.</summary>
    private static async Task<(double, double)> RoundTripsAsync(KubeForwardRig rig, bool kubectl, int count, CancellationToken cancellationToken)
    {
        await using var stream = await rig.OpenAsync(kubectl, KubeForwardRig.EchoPort, cancellationToken);
        var request = new byte[RequestSize];
        var response = new byte[RequestSize];
        var samples = new List<double>(count);
        for (var i = 0; i < Warmup + count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await stream.WriteAsync(request, cancellationToken);
            await stream.ReadExactlyAsync(response, cancellationToken);
            if (i >= Warmup)
            {
                samples.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
            }
        }

        return (Stats.Percentile(samples, 0.5), Stats.Percentile(samples, 0.99));
    }

    /// <summary>COUNT times: open a stream to the echo, one 64-byte round trip, close: p50 and p99 in µs.</summary>
    private static async Task<(double, double)> ConnectsAsync(KubeForwardRig rig, bool kubectl, int count, CancellationToken cancellationToken)
    {
        var request = new byte[RequestSize];
        var response = new byte[RequestSize];
        var samples = new List<double>(count);
        for (var i = 0; i < count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await using (var stream = await rig.OpenAsync(kubectl, KubeForwardRig.EchoPort, cancellationToken))
            {
                await stream.WriteAsync(request, cancellationToken);
                await stream.ReadExactlyAsync(response, cancellationToken);
            }

            samples.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
        }

        return (Stats.Percentile(samples, 0.5), Stats.Percentile(samples, 0.99));
    }
}
