namespace Doppel.Bench;

/// <summary>
/// Figure 14: rename() of a closed pod file back and forth (r0 → r1 → r0 …) in fs mode write,
/// each call timed. Under doppel every rename happens in the pod at the call (one agent round
/// trip). Afterwards the pod directory must hold r0 with its content and no r1.
/// </summary>
internal static class PodRename
{
    public static async Task<Table> RunAsync(PodFileRig rig, PodFileSettings settings, CancellationToken cancellationToken)
    {
        var count = (settings.Renames / 2 * 2).ToString(System.Globalization.CultureInfo.InvariantCulture); // even: ends as r0
        var run = 0;
        var samples = await Interleave.RunAsync(settings.Rounds,
        [
            () => OneAsync(directory => rig.DirectAsync(["rename", rig.OnHost(directory), count], cancellationToken)),
            () => OneAsync(directory => rig.UnderDoppelAsync(true, ["rename", directory, count], cancellationToken)),
        ]);

        var table = new Table(
            $"14. rename() of a closed pod file, fs mode write, µs per call ({count} renames per run; median over {settings.Rounds} interleaved runs of each run's figure)",
            1, "", "direct", "doppel", "doppel - direct", "ratio");
        foreach (var (name, key) in new[] { ("p50", "p50_us"), ("p99", "p99_us"), ("mean", "mean_us") })
        {
            var d = Stats.Median(samples[0].Select(r => r[key]).ToList());
            var p = Stats.Median(samples[1].Select(r => r[key]).ToList());
            table.Add(name, Format.Number(d, 1), Format.Number(p, 1), Format.Signed(p - d, 1), Format.Ratio(p, d));
        }

        table.Footer = $"direct = the same program renaming in {rig.OnHost(PodFileRig.PodDirectory)}/rename-N; after every run the pod held r0 with its content and no r1.";
        return table;

        async Task<ResultLine> OneAsync(Func<string, Task<ResultLine>> runIn)
        {
            var directory = $"{PodFileRig.PodDirectory}/rename-{run++}";
            var onHost = rig.OnHost(directory);
            Directory.CreateDirectory(onHost);
            try
            {
                var result = await runIn(directory);
                var names = Directory.GetFiles(onHost).Select(Path.GetFileName).ToList();
                var kept = Path.Combine(onHost, "r0");
                if (names is not ["r0"] || File.ReadAllText(kept) != "renamed file\n")
                {
                    throw new InvalidOperationException($"{onHost} should hold only r0 (\"renamed file\") after an even number of renames, yet it holds {string.Join(", ", names)}.");
                }

                return result;
            }
            finally
            {
                Directory.Delete(onHost, recursive: true);
            }
        }
    }
}
