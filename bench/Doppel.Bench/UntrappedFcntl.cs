using System.Globalization;

namespace Doppel.Bench;

/// <summary>
/// Figure 16: fcntl commands that are not lock commands (F_GETFL, F_GETFD) on an fd of a pod
/// file, under doppel in fs mode write where the lock commands are trapped. The filter compares
/// fcntl's command, so these must cost what they cost directly (ratio ≈ 1); F_GETLK, a lock
/// command answered by the pod, is timed beside them to show what a trapped fcntl costs. The
/// client checks every answer (the fd's O_RDWR and FD_CLOEXEC; F_UNLCK from F_GETLK). getppid, in no
/// filter, is the floor: what any syscall costs under seccomp once the kernel's per-syscall cache
/// has it as always allowed (fcntl is not cacheable, since the filter looks at its arguments).
/// </summary>
internal static class UntrappedFcntl
{
    private const string PodFile = PodFileRig.PodDirectory + "/fcntl.txt";

    public static async Task<Table> RunAsync(PodFileRig rig, PodFileSettings settings, CancellationToken cancellationToken)
    {
        var onHost = rig.OnHost(PodFile);
        await File.WriteAllTextAsync(onHost, "a pod file for fcntl\n", cancellationToken);
        var calls = settings.FcntlCalls.ToString(CultureInfo.InvariantCulture);
        var getlks = settings.GetLkCalls.ToString(CultureInfo.InvariantCulture);
        var samples = await Interleave.RunAsync(settings.FcntlRounds,
        [
            () => rig.DirectAsync(["fcntl", onHost, calls, getlks], cancellationToken),
            () => rig.UnderDoppelAsync(true, ["fcntl", PodFile, calls, getlks], cancellationToken),
        ]);

        var added = new Dictionary<string, double>(StringComparer.Ordinal);
        var table = new Table(
            $"16. fcntl on an fd of a pod file, fs mode write, µs per call (median of {settings.FcntlRounds} interleaved runs)",
            2, "call", "trapping", "direct", "doppel", "doppel - direct", "ratio");
        foreach (var (name, trapping, key, toMicroseconds, decimals) in new[]
        {
            ("getppid", $"in no filter: seccomp's cache allows it ({Format.Number(settings.FcntlCalls, 0)} calls)", "getppid_ns", 1e-3, 3),
            ("F_GETFL", $"not a lock command: not trapped ({Format.Number(settings.FcntlCalls, 0)} calls)", "getfl_ns", 1e-3, 3),
            ("F_GETFD", $"not a lock command: not trapped ({Format.Number(settings.FcntlCalls, 0)} calls)", "getfd_ns", 1e-3, 3),
            ("F_GETLK", $"lock command: trapped, answered by the pod ({Format.Number(settings.GetLkCalls, 0)} calls)", "getlk_us", 1.0, 1),
        })
        {
            var d = Stats.Median(samples[0].Select(r => r[key] * toMicroseconds).ToList());
            var p = Stats.Median(samples[1].Select(r => r[key] * toMicroseconds).ToList());
            table.Add(name, trapping, Format.Number(d, decimals), Format.Number(p, decimals), Format.Signed(p - d, decimals), Format.Ratio(p, d));
            added[key] = p - d; // µs
        }

        table.Footer =
            $"Raw syscalls in a loop timed by the program; direct = the same program on {onHost}. Every answer was checked (parent pid, O_RDWR, FD_CLOEXEC, F_UNLCK). " +
            $"F_GETFL adds {Format.Number(added["getfl_ns"], 3)} µs, getppid {Format.Number(added["getppid_ns"], 3)} µs: " +
            "what any syscall pays under a seccomp filter, against the round trip to doppel every trapped call pays (≥ 10 µs: figure 17's close of a local fd).";
        return table;
    }
}
