using System.Globalization;

namespace Doppel.Bench;

/// <summary>
/// Figure 15: an fcntl lock + unlock round trip on a pod file (F_SETLK F_WRLCK of the whole
/// file, then F_SETLK F_UNLCK), each pair timed. Under doppel both calls are trapped and the
/// agent takes and drops the lock on the pod's file. After its loop the client takes the lock
/// once more and waits; a second process on the host (not under doppel) must then see it held
/// with F_GETLK on the pod's file, in every run, or the run fails.
/// </summary>
internal static class PodLock
{
    private const string PodFile = PodFileRig.PodDirectory + "/lock.db";
    private const int WriteLock = 1; // F_WRLCK

    public static async Task<Table> RunAsync(PodFileRig rig, PodFileSettings settings, CancellationToken cancellationToken)
    {
        var onHost = rig.OnHost(PodFile);
        await File.WriteAllTextAsync(onHost, "a pod file to lock\n", cancellationToken);
        var pairs = settings.LockPairs.ToString(CultureInfo.InvariantCulture);
        var doppelPids = new List<double>();
        var samples = await Interleave.RunAsync(settings.Rounds,
        [
            () =>
            {
                var client = rig.StartDirect(["lock", onHost, pairs]);
                return OneAsync(client, client.Pid);
            },
            () => OneAsync(rig.StartUnderDoppel(true, ["lock", PodFile, pairs]), null),
        ]);

        var table = new Table(
            $"15. fcntl lock + unlock round trip on a pod file, fs mode write, µs per pair ({pairs} pairs per run; median over {settings.Rounds} interleaved runs of each run's figure)",
            1, "", "direct", "doppel", "doppel - direct", "ratio");
        foreach (var (name, key) in new[] { ("p50", "p50_us"), ("p99", "p99_us"), ("mean", "mean_us"), ("  F_WRLCK (mean)", "lock_us"), ("  F_UNLCK (mean)", "unlock_us") })
        {
            var d = Stats.Median(samples[0].Select(r => r[key]).ToList());
            var p = Stats.Median(samples[1].Select(r => r[key]).ToList());
            table.Add(name, Format.Number(d, 1), Format.Number(p, 1), Format.Signed(p - d, 1), Format.Ratio(p, d));
        }

        table.Footer =
            $"pair = F_SETLK F_WRLCK (whole file) + F_SETLK F_UNLCK; direct = the same program on {onHost}. " +
            $"In every run a second process on the host saw the client's lock held (F_GETLK on {onHost}: F_WRLCK, pid the client's directly, " +
            $"{string.Join(" or ", doppelPids.Distinct().Select(p => p.ToString(CultureInfo.InvariantCulture)))} under doppel" +
            (doppelPids.All(p => p == -1) ? ": the agent holds it as an open-file-description lock)." : ").");
        return table;

        // Runs one client to its end; while it holds its lock, looks at the pod's file from another process.
        async Task<ResultLine> OneAsync(IRunningProgram client, int? clientPid)
        {
            await using (client)
            {
                var line = await client.ReadLineAsync(PodFileRig.RunTimeout, cancellationToken);
                if (line != "locked")
                {
                    throw new InvalidOperationException($"p9files lock printed '{line}' where 'locked' was expected.");
                }

                var other = await rig.DirectAsync(["getlk", onHost], cancellationToken);
                if (other["type"] != WriteLock || (clientPid is { } pid && other["pid"] != pid))
                {
                    throw new InvalidOperationException(
                        $"While the client held a write lock on {PodFile}, F_GETLK from another process on {onHost} answered type {other["type"]} (F_WRLCK is 1, F_UNLCK 2), " +
                        $"pid {other["pid"]}: the lock was not the pod's.");
                }

                if (clientPid is null)
                {
                    doppelPids.Add(other["pid"]);
                }

                await client.WriteLineAsync("go on");
                return ResultLine.Parse(await client.WaitAsync(PodFileRig.RunTimeout, cancellationToken), "p9files lock");
            }
        }
    }
}
