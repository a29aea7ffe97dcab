using System.Globalization;

namespace Doppel.Bench;

/// <summary>
/// Figure 17: open (O_RDONLY) + read to EOF + close of a small pod file, each step timed, under
/// doppel in fs mode read and in fs mode write, next to the direct path. With locks trapped,
/// every close of the program is trapped (one round trip to doppel's supervisor, no agent call
/// while no pod lock is held), so the close of a read-only fd is the figure issue 13 asks for.
/// The same cycle on a local file (under /tmp, local in every mode) shows what a trapped close
/// costs when nothing about the file is remote. Each run reads the whole file every time; a pod
/// file that is also on this machine's /data would make the figure meaningless, so that is refused.
/// </summary>
internal static class PodFileClose
{
    private const string PodFile = PodFileRig.PodDirectory + "/small.txt";

    public static async Task<Table> RunAsync(PodFileRig rig, string workDirectory, PodFileSettings settings, CancellationToken cancellationToken)
    {
        if (File.Exists(PodFile))
        {
            throw new BenchException($"{PodFile} exists on this machine, so figure 17 could not tell the pod's file from it: move it away and run the bench again.");
        }

        var onHost = rig.OnHost(PodFile);
        var local = Path.Combine(workDirectory, "small-local.txt");
        var content = new byte[settings.FileBytes];
        Random.Shared.NextBytes(content);
        await File.WriteAllBytesAsync(onHost, content, cancellationToken);
        await File.WriteAllBytesAsync(local, content, cancellationToken);
        var count = settings.Closes.ToString(CultureInfo.InvariantCulture);

        var samples = await Interleave.RunAsync(settings.Rounds,
        [
            () => Checked(rig.DirectAsync(["closes", onHost, count], cancellationToken)),
            () => Checked(rig.UnderDoppelAsync(false, ["closes", PodFile, count], cancellationToken)),
            () => Checked(rig.UnderDoppelAsync(true, ["closes", PodFile, count], cancellationToken)),
            () => Checked(rig.DirectAsync(["closes", local, count], cancellationToken)),
            () => Checked(rig.UnderDoppelAsync(false, ["closes", local, count], cancellationToken)),
            () => Checked(rig.UnderDoppelAsync(true, ["closes", local, count], cancellationToken)),
        ]);

        var table = new Table(
            $"17. open(O_RDONLY) + read + close of a {Format.Number(settings.FileBytes, 0)}-byte file, µs ({count} cycles per run after 10 unmeasured; median over {settings.Rounds} interleaved runs of each run's figure)",
            1, "step", "direct", "doppel, fs read", "ratio", "doppel, fs write", "ratio");
        foreach (var (file, first) in new[] { ("pod file", 0), ("local file", 3) })
        {
            foreach (var (name, key) in new[] { ("open p50", "open_p50_us"), ("close p50", "close_p50_us"), ("close p99", "close_p99_us"), ("open+read+close p50", "cycle_p50_us") })
            {
                var d = Stats.Median(samples[first].Select(r => r[key]).ToList());
                var read = Stats.Median(samples[first + 1].Select(r => r[key]).ToList());
                var write = Stats.Median(samples[first + 2].Select(r => r[key]).ToList());
                table.Add($"{file}: {name}", Format.Number(d, 1), Format.Number(read, 1), Format.Ratio(read, d), Format.Number(write, 1), Format.Ratio(write, d));
            }
        }

        table.Footer = $"pod file = {PodFile} (direct: {onHost}); local file = {local} in every variant. Every read returned the file's {Format.Number(settings.FileBytes, 0)} bytes.";
        return table;

        async Task<ResultLine> Checked(Task<ResultLine> run)
        {
            var result = await run;
            return result["bytes"] == settings.FileBytes
                ? result
                : throw new InvalidOperationException($"The file has {settings.FileBytes} bytes, yet a read returned {result["bytes"]}.");
        }
    }
}
