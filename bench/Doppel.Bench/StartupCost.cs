namespace Doppel.Bench;

/// <summary>
/// Figure 2: wall clock of running <c>true</c> directly and under interception through each
/// launcher, from just before the spawn until the exit is observed by this process; and the whole
/// product path, <c>doppel exec -- true</c> (no target: configuration loaded, launcher and
/// supervisor, nothing redirected) through each binary.
/// </summary>
internal static class StartupCost
{
    private const int WarmUpRounds = 2;

    public static async Task<Table> RunAsync(IReadOnlyList<Launcher> launchers, BenchSettings settings, CancellationToken cancellationToken)
    {
        long trappedByTrue = 0;
        List<(string Name, Func<Task<double>> Run)> variants = [("direct (Process.Start)", async () => Milliseconds(await Runs.DirectAsync("true", [], cancellationToken)))];
        variants.AddRange(launchers.Select(launcher => ($"doppel, {launcher.Name} launcher", (Func<Task<double>>)(async () =>
        {
            var run = await Runs.InterceptedAsync(launcher, "true", [], cancellationToken);
            trappedByTrue = run.FileDecisions;
            return Milliseconds(run);
        }))));
        variants.AddRange(launchers.Select(launcher => ($"`doppel exec -- true`, {launcher.Name} binary", (Func<Task<double>>)(async () =>
            Milliseconds(await Runs.DirectAsync(launcher.Path, ["exec", "--", "true"], cancellationToken))))));

        var runs = variants.Select(v => v.Run).ToList();
        await Interleave.RunAsync(WarmUpRounds, runs);
        var samples = await Interleave.RunAsync(settings.StartupRuns, runs);

        var table = new Table(
            $"2. Start-up of `true`, ms from spawn to observed exit ({settings.StartupRuns} interleaved runs each, after {WarmUpRounds} discarded)",
            1, "variant", "median", "p90", "median - direct", "ratio (medians)");
        var direct = Stats.Median(samples[0]);
        for (var i = 0; i < variants.Count; i++)
        {
            var median = Stats.Median(samples[i]);
            table.Add(
                variants[i].Name,
                Format.Number(median, 1),
                Format.Number(Stats.Percentile(samples[i], 0.9), 1),
                i == 0 ? "" : Format.Signed(median - direct, 1),
                i == 0 ? "" : Format.Ratio(median, direct));
        }

        table.Footer = $"Under doppel, `true` made {trappedByTrue} trapped file calls (the dynamic loader's), each decided Local and continued.";
        return table;
    }

    private static double Milliseconds(RunResult run) => run.Elapsed.TotalMilliseconds;
}
