using System.Diagnostics;
using System.Globalization;
using Doppel.Testing;

namespace Doppel.Bench;

/// <summary>
/// Figure 4b: one TCP connection moving N bytes through <c>doppel port-forward -L</c>: the client in
/// the developer netns connects to 127.0.0.1:L, which doppel relays through the agent to the backend
/// pod, next to the same client run directly in the app pod's netns, interleaved in the same rounds.
/// </summary>
internal static class PortForwardThroughput
{
    private const int LocalPort = 19501;

    public static async Task<Table> RunAsync(ClusterRig rig, Launcher doppel, string workDirectory, ClusterSettings settings, CancellationToken cancellationToken)
    {
        var bytes = settings.BulkBytes.ToString(CultureInfo.InvariantCulture);
        var local = LocalPort.ToString(CultureInfo.InvariantCulture);
        var table = new Table(
            $"4b. doppel port-forward -L throughput, MB/s, one connection, {settings.BulkBytes >> 20} MiB per run (median of {settings.Rounds} interleaved runs)",
            1, "direction", "direct", "port-forward", "ratio");

        await using var forward = DoppelExecProcess.Start(
            doppel.Path, rig.DeveloperNamespace, ["-t", $"pid/{rig.App.Pid}", "-L", $"{local}:{rig.BackendIp}:{ClusterRig.Port}"], workDirectory, subcommand: "port-forward");
        var ready = Stopwatch.StartNew();
        while (!forward.SoFar.Stderr.Contains("port-forward ready", StringComparison.Ordinal))
        {
            if (ready.Elapsed > TimeSpan.FromSeconds(60) || forward.SoFar.ExitCode != -1)
            {
                throw new BenchException($"doppel port-forward did not get ready: {forward.SoFar}");
            }

            await Task.Delay(100, cancellationToken);
        }

        foreach (var direction in new[] { "pull", "push" })
        {
            var runs = await Interleave.RunAsync(settings.Rounds,
            [
                async () => (await rig.DirectInPodAsync([direction, rig.BackendIp, ClusterRig.Port, bytes], cancellationToken))["mbps"],
                async () => (await rig.InDeveloperAsync([direction, "127.0.0.1", local, bytes], cancellationToken))["mbps"],
            ]);
            var direct = Stats.Median(runs[0]);
            var forwarded = Stats.Median(runs[1]);
            table.Add(direction == "pull" ? "pull (pod server → local client)" : "push (local client → pod server)", Format.Number(direct, 0), Format.Number(forwarded, 0), Format.Ratio(forwarded, direct));
        }

        table.Footer = $"port-forward = `ip netns exec DEV doppel port-forward -t pid/APP -L {local}:BACKEND:{ClusterRig.Port}`, the client in DEV connecting to 127.0.0.1:{local}; direct = the client in the app pod's netns.";
        return table;
    }
}
