namespace Doppel.Bench;

/// <summary>
/// Figure 6: a program reads a large pod file twice (open, read to EOF, close, 1 MiB reads).
/// Under doppel the path is remote: the first open fetches it through the agent into the
/// session's cache, the second reads the cached copy. Directly, the same program reads the
/// same file through /proc/APP/root (page cache warm for both).
/// </summary>
internal static class RemoteFileRead
{
    public static async Task<Table> RunAsync(ClusterRig rig, ClusterSettings settings, CancellationToken cancellationToken)
    {
        var direct = $"/proc/{rig.App.Pid}/root{ClusterRig.PodFile}";
        var samples = await Interleave.RunAsync(settings.Rounds,
        [
            async () => Checked(await rig.DirectOnHostAsync(["read", direct], cancellationToken)),
            async () => Checked(await rig.UnderDoppelAsync(["read", ClusterRig.PodFile], cancellationToken)),
        ]);

        // Every read, direct or through doppel, first or cached, must have returned the pod file's bytes.
        var expected = samples[0][0]["first_sum"];
        var wrong = samples.SelectMany(s => s).SelectMany(r => new[] { r["first_sum"], r["second_sum"] }).Count(sum => sum != expected);
        if (wrong > 0)
        {
            throw new InvalidOperationException($"{wrong} reads of {ClusterRig.PodFile} returned other bytes than the file holds (checksums differ).");
        }

        var table = new Table(
            $"6. Remote file read, MB/s, {settings.FileBytes >> 20} MiB pod file read twice by one process (median of {settings.Rounds} interleaved runs)",
            1, "read", "direct", "doppel", "ratio");
        foreach (var (name, key) in new[] { ("first read (doppel: fetched through the agent)", "first_mbps"), ("second read, same process (doppel: session cache)", "second_mbps") })
        {
            var d = Stats.Median(samples[0].Select(r => r[key]).ToList());
            var p = Stats.Median(samples[1].Select(r => r[key]).ToList());
            table.Add(name, Format.Number(d, 0), Format.Number(p, 0), Format.Ratio(p, d));
        }

        table.Footer = $"direct = the same program reading {direct} on the host; timed from open to close; every read's checksum matched the file.";
        return table;

        ResultLine Checked(ResultLine result) => result["bytes"] == settings.FileBytes
            ? result
            : throw new InvalidOperationException($"The pod file has {settings.FileBytes} bytes, yet the read returned {result["bytes"]}.");
    }
}
