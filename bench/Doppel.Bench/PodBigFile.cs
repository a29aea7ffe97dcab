using System.Globalization;

namespace Doppel.Bench;

/// <summary>
/// Figure 19: small writes to a big pod file in fs mode write, each whole cycle timed: open with
/// O_APPEND + a 64-byte line + close, and open O_RDWR + a 4 KiB pwrite in the middle + close. Under
/// doppel each cycle is a write-back of only the changed range (the appended line, the edited
/// block) into the pod's file itself, and the next open finds the copy still the pod's by one stat
/// (no download again), but hashes the whole copy (64-bit per 64 KiB block) to know what the next
/// close changed. Afterwards the pod file must have grown by exactly the appended lines, the last
/// one intact.
/// </summary>
internal static class PodBigFile
{
    private const int LineBytes = 64;

    public static async Task<Table> RunAsync(PodFileRig rig, PodFileSettings settings, CancellationToken cancellationToken)
    {
        var count = settings.BigFileCycles.ToString(CultureInfo.InvariantCulture);
        var run = 0;
        var samples = await Interleave.RunAsync(settings.Rounds,
        [
            () => OneAsync("appends", path => rig.DirectAsync(["appends", rig.OnHost(path), count], cancellationToken)),
            () => OneAsync("appends", path => rig.UnderDoppelAsync(true, ["appends", path, count], cancellationToken)),
            () => OneAsync("edits", path => rig.DirectAsync(["edits", rig.OnHost(path), count], cancellationToken)),
            () => OneAsync("edits", path => rig.UnderDoppelAsync(true, ["edits", path, count], cancellationToken)),
        ]);

        var megabytes = Format.Number(settings.BigFileBytes / (1024.0 * 1024.0), 0);
        var table = new Table(
            $"19. small writes to a {megabytes} MiB pod file, fs mode write, µs per open + write + close ({count} cycles per run; median over {settings.Rounds} interleaved runs of each run's figure)",
            1, "cycle", "direct", "doppel", "doppel - direct", "ratio");
        foreach (var (name, first) in new[] { ("append 64 B (O_APPEND)", 0), ("pwrite 4 KiB in the middle (O_RDWR)", 2) })
        {
            foreach (var (figure, key) in new[] { ("p50", "p50_us"), ("mean", "mean_us") })
            {
                var d = Stats.Median(samples[first].Select(r => r[key]).ToList());
                var p = Stats.Median(samples[first + 1].Select(r => r[key]).ToList());
                table.Add($"{name} {figure}", Format.Number(d, 1), Format.Number(p, 1), Format.Signed(p - d, 1), Format.Ratio(p, d));
            }
        }

        table.Footer = $"direct = the same program on {rig.OnHost(PodFileRig.PodDirectory)}/big-N.bin; every run starts from a fresh file of {Format.Number(settings.BigFileBytes, 0)} random bytes; after every append run the pod file had grown by exactly {count} × {LineBytes} bytes, its last line intact.";
        return table;

        async Task<ResultLine> OneAsync(string mode, Func<string, Task<ResultLine>> runOn)
        {
            var path = $"{PodFileRig.PodDirectory}/big-{run++}.bin";
            var onHost = rig.OnHost(path);
            var content = new byte[settings.BigFileBytes];
            Random.Shared.NextBytes(content);
            await File.WriteAllBytesAsync(onHost, content, cancellationToken);
            try
            {
                var result = await runOn(path);
                var length = new FileInfo(onHost).Length;
                var expected = settings.BigFileBytes + (mode == "appends" ? (long)settings.BigFileCycles * LineBytes : 0);
                if (length != expected)
                {
                    throw new InvalidOperationException($"{onHost} should hold {expected} bytes after the {mode}, yet it holds {length}.");
                }

                if (mode == "appends")
                {
                    await using var file = File.OpenRead(onHost);
                    file.Position = length - LineBytes;
                    var last = new byte[LineBytes];
                    file.ReadExactly(last);
                    var text = System.Text.Encoding.ASCII.GetString(last);
                    if (!text.StartsWith($"append {settings.BigFileCycles - 1:D6} ", StringComparison.Ordinal) || !text.EndsWith('\n'))
                    {
                        throw new InvalidOperationException($"{onHost} should end with the last appended line, yet it ends with \"{text.TrimEnd()}\".");
                    }
                }

                return result;
            }
            finally
            {
                File.Delete(onHost);
            }
        }
    }
}
