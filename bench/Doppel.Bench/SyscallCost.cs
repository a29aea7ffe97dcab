using System.Globalization;

namespace Doppel.Bench;

/// <summary>
/// Figure 1: what one trapped-and-continued syscall costs, next to the same call untrapped.
/// The workload times its own loop, so start-up is not in the figure.
/// </summary>
internal static class SyscallCost
{
    public static async Task<Table> RunAsync(string workload, Launcher launcher, string probeFile, BenchSettings settings, CancellationToken cancellationToken)
    {
        var calls = settings.Calls.ToString(CultureInfo.InvariantCulture);
        (string Call, string Trapping, string[] Arguments, bool Trapped)[] cases =
        [
            ("getppid", "not trapped", ["getppid", calls], false),
            ("newfstatat(path)", "trapped, continued", ["stat", calls, probeFile], true),
            ("openat(path) + close", "openat trapped, continued; close not trapped", ["openat", calls, probeFile], true),
            ("fstat(fd)", "trapped (fd ≥ 3), local fd: continued, no decision", ["fstat", calls, probeFile], false),
            ("newfstatat(fd, \"\", AT_EMPTY_PATH)", "glibc's fstat: the same", ["fstatat", calls, probeFile], false),
        ];

        // One discarded run so the supervisor's receive/decide/continue path is jitted and tiered up.
        var warmUp = (settings.Calls / 4).ToString(CultureInfo.InvariantCulture);
        await Runs.InterceptedAsync(launcher, workload, ["openat", warmUp, probeFile], cancellationToken);

        var table = new Table(
            $"1. Syscall cost, µs per call ({settings.Calls:N0} calls timed inside the program; median of {settings.Repeats} interleaved runs)",
            2, "call", "trapping", "direct", "doppel", "doppel - direct", "ratio");
        foreach (var (call, trapping, arguments, trapped) in cases)
        {
            var samples = await Interleave.RunAsync(settings.Repeats,
            [
                async () => PerCall(await Runs.DirectAsync(workload, arguments, cancellationToken)),
                async () =>
                {
                    var run = await Runs.InterceptedAsync(launcher, workload, arguments, cancellationToken);
                    if (trapped && run.FileDecisions < settings.Calls)
                    {
                        throw new InvalidOperationException(
                            $"{call} should be trapped, yet the policy made only {run.FileDecisions} file decisions for {settings.Calls} calls.");
                    }

                    return PerCall(run);
                },
            ]);
            var direct = Stats.Median(samples[0]);
            var doppel = Stats.Median(samples[1]);
            table.Add(call, trapping, Format.Number(direct, 2), Format.Number(doppel, 2), Format.Signed(doppel - direct, 2), Format.Ratio(doppel, direct));
        }

        return table;

        double PerCall(RunResult run) => run.ReportedNanoseconds / settings.Calls / 1000;
    }
}
