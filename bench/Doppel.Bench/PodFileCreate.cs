using System.Globalization;
using System.Text;

namespace Doppel.Bench;

/// <summary>
/// Figure 13: create + write 4 KiB + close of 1,000 new pod files in fs mode write. Under doppel
/// each create happens in the pod at the open (O_CREAT) and the content reaches it at the close
/// (write-through). Every run writes into a fresh, empty pod directory, which afterwards must hold
/// exactly the files with their content, or the run fails. Taken twice: on the container's root
/// (this machine's disk, where a create costs what the disk makes it cost; doppel's local copies
/// go to /tmp, the same disk here) and with everything in memory: a tmpfs in the pod and doppel's
/// TMPDIR on a tmpfs (what doppel's own path costs: its round trips).
/// </summary>
internal static class PodFileCreate
{
    public static async Task<Table> RunAsync(PodFileRig rig, PodFileSettings settings, CancellationToken cancellationToken)
    {
        var files = settings.Files.ToString(CultureInfo.InvariantCulture);
        var size = settings.FileBytes.ToString(CultureInfo.InvariantCulture);
        var run = 0;
        var samples = await Interleave.RunAsync(settings.Rounds,
        [
            () => OneAsync(PodFileRig.PodDirectory, write => rig.DirectAsync(["create", rig.OnHost(write), files, size], cancellationToken)),
            () => OneAsync(PodFileRig.PodDirectory, write => rig.UnderDoppelAsync(true, ["create", write, files, size], cancellationToken)),
            () => OneAsync(PodFileRig.MemoryDirectory, write => rig.DirectAsync(["create", rig.OnHost(write), files, size], cancellationToken)),
            () => OneAsync(PodFileRig.MemoryDirectory, write => rig.UnderDoppelAsync(true, ["create", write, files, size], cancellationToken, cacheInMemory: true)),
        ]);

        var table = new Table(
            $"13. Create + write {Format.Number(settings.FileBytes, 0)} bytes + close of {Format.Number(settings.Files, 0)} new pod files, fs mode write (median of {settings.Rounds} interleaved runs)",
            1, "", "direct", "doppel", "doppel - direct", "ratio");
        foreach (var (where, first) in new[] { ($"{PodFileRig.PodDirectory} (the container's root: ext4 on this VM's disk)", 0), ($"{PodFileRig.MemoryDirectory} (tmpfs in the pod; doppel's TMPDIR, its copies, in a tmpfs too)", 2) })
        {
            table.Add(where);
            foreach (var (name, key, decimals) in new[]
            {
                ("  total, ms", "total_ms", 1), ("  per file, µs", "us_per_file", 1),
                ("    open(O_CREAT), µs (mean)", "open_us", 1), ("    write, µs (mean)", "write_us", 1), ("    close, µs (mean)", "close_us", 1),
            })
            {
                var d = Stats.Median(samples[first].Select(r => r[key]).ToList());
                var p = Stats.Median(samples[first + 1].Select(r => r[key]).ToList());
                table.Add(name, Format.Number(d, decimals), Format.Number(p, decimals), Format.Signed(p - d, decimals), Format.Ratio(p, d));
            }
        }

        table.Footer =
            $"direct = the same program creating /proc/APP/root/DIR/create-N/f*; the indented step rows split the per-file time. " +
            $"Each run's directory was new and empty, and held exactly the {Format.Number(settings.Files, 0)} files of {Format.Number(settings.FileBytes, 0)} bytes with their content afterwards.";
        return table;

        // One run in a new pod directory below parent, checked and removed afterwards.
        async Task<ResultLine> OneAsync(string parent, Func<string, Task<ResultLine>> runIn)
        {
            var directory = $"{parent}/create-{run++}";
            var onHost = rig.OnHost(directory);
            Directory.CreateDirectory(onHost);
            try
            {
                var result = await runIn(directory);
                Check(onHost, settings);
                return result;
            }
            finally
            {
                Directory.Delete(onHost, recursive: true);
            }
        }
    }

    private static void Check(string directory, PodFileSettings settings)
    {
        var names = Directory.GetFiles(directory).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        var expected = Enumerable.Range(0, settings.Files).Select(i => $"f{i:D5}").ToList();
        if (!names.SequenceEqual(expected))
        {
            throw new InvalidOperationException(
                $"{directory} should hold exactly f00000 … f{settings.Files - 1:D5} after the run, yet it holds {names.Count} files ({string.Join(", ", names.Take(5))} …).");
        }

        for (var i = 0; i < settings.Files; i++)
        {
            var content = File.ReadAllBytes(Path.Combine(directory, expected[i]));
            var header = Encoding.ASCII.GetBytes($"file {i}\n");
            var fill = (byte)('a' + (i % 26));
            if (content.Length != settings.FileBytes || !content.AsSpan(0, header.Length).SequenceEqual(header) || content.AsSpan(header.Length).ContainsAnyExcept(fill))
            {
                throw new InvalidOperationException($"{directory}/{expected[i]} should hold {settings.FileBytes} bytes (\"file {i}\" and '{(char)fill}'s), yet it holds {content.Length} bytes that differ.");
            }
        }
    }
}
