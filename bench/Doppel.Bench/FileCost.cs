using System.Globalization;

namespace Doppel.Bench;

/// <summary>
/// Figure 3: open+read+close of many small local files, every open trapped and decided Local,
/// next to the same loop run directly. The workload times its own loop.
/// </summary>
internal static class FileCost
{
    private const int FileSize = 128;

    public static async Task<Table> RunAsync(string workload, Launcher launcher, string directory, BenchSettings settings, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        var content = new byte[FileSize];
        Array.Fill(content, (byte)'x');
        for (var i = 0; i < settings.Files; i++)
        {
            await File.WriteAllBytesAsync(Path.Combine(directory, $"f{i:D5}"), content, cancellationToken);
        }

        string[] arguments = ["files", directory, settings.Files.ToString(CultureInfo.InvariantCulture)];
        var samples = await Interleave.RunAsync(settings.Repeats,
        [
            async () => (await Runs.DirectAsync(workload, arguments, cancellationToken)).ReportedNanoseconds,
            async () =>
            {
                var run = await Runs.InterceptedAsync(launcher, workload, arguments, cancellationToken);
                if (run.FileDecisions < settings.Files)
                {
                    throw new InvalidOperationException(
                        $"Every open should be trapped, yet the policy made only {run.FileDecisions} file decisions for {settings.Files} files.");
                }

                return run.ReportedNanoseconds;
            },
        ]);

        var direct = Stats.Median(samples[0]);
        var doppel = Stats.Median(samples[1]);
        var table = new Table(
            $"3. open+read+close of {settings.Files:N0} local {FileSize}-byte files, timed inside the program (median of {settings.Repeats} interleaved runs)",
            1, "", "direct", "doppel", "doppel - direct", "ratio");
        table.Add("total, ms", Format.Number(direct / 1e6, 1), Format.Number(doppel / 1e6, 1), Format.Signed((doppel - direct) / 1e6, 1), Format.Ratio(doppel, direct));
        table.Add("per file, µs", Format.Number(direct / settings.Files / 1e3, 2), Format.Number(doppel / settings.Files / 1e3, 2), Format.Signed((doppel - direct) / settings.Files / 1e3, 2), Format.Ratio(doppel, direct));
        return table;
    }
}
