using System.Globalization;

namespace Doppel.Bench;

/// <summary>
/// Figure 18: fork + execve of <see cref="Program"/> + waitpid, each spawn timed, under doppel in
/// fs mode write next to the direct path. Under doppel every child inherits the seccomp filter:
/// its execve is trapped (one round trip to doppel's supervisor, docs/cli.md "execve is trapped
/// wherever pod files are served"), and so are the file calls of the program's dynamic loader
/// (ld.so.cache, libc) — what a build tool spawning many processes pays per process. Every child
/// must exit 0, or the run fails (127 would be an execve doppel refused).
/// </summary>
internal static class ProcessSpawn
{
    /// <summary>The program spawned: this machine's coreutils true (an absolute path, so doppel runs it from this machine).</summary>
    public const string Program = "/bin/true";

    public static async Task<Table> RunAsync(PodFileRig rig, PodFileSettings settings, CancellationToken cancellationToken)
    {
        if (!File.Exists(Program))
        {
            throw new BenchException($"Figure 18 spawns {Program}, which this machine does not have: install coreutils and run the bench again.");
        }

        var count = settings.Spawns.ToString(CultureInfo.InvariantCulture);
        var samples = await Interleave.RunAsync(settings.Rounds,
        [
            () => Checked(rig.DirectAsync(["spawn", Program, count], cancellationToken)),
            () => Checked(rig.UnderDoppelAsync(true, ["spawn", Program, count], cancellationToken)),
        ]);

        var table = new Table(
            $"18. fork + execve({Program}) + waitpid, fs mode write, µs per spawn ({count} spawns per run after 10 unmeasured; median over {settings.Rounds} interleaved runs of each run's figure)",
            1, "", "direct", "doppel", "doppel - direct", "ratio");
        foreach (var (name, key) in new[] { ("min", "min_us"), ("p50", "p50_us"), ("p99", "p99_us"), ("mean", "mean_us") })
        {
            var d = Stats.Median(samples[0].Select(r => r[key]).ToList());
            var p = Stats.Median(samples[1].Select(r => r[key]).ToList());
            table.Add(name, Format.Number(d, 1), Format.Number(p, 1), Format.Signed(p - d, 1), Format.Ratio(p, d));
        }

        table.Footer =
            $"spawn = fork, execve({Program}) with no arguments, waitpid, timed from before the fork to after the waitpid; direct = the same program on the host. " +
            "Every child of every run exited 0.";
        return table;

        async Task<ResultLine> Checked(Task<ResultLine> run)
        {
            var result = await run;
            if (result["spawns"] != settings.Spawns)
            {
                throw new InvalidOperationException($"p9files spawn reported {result["spawns"]} spawns where {count} were asked for.");
            }

            return result;
        }
    }
}
