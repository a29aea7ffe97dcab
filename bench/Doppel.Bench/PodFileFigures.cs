namespace Doppel.Bench;

/// <summary>
/// Figures 13–19 (<c>--p9</c>, issue 13): pod files through <c>doppel exec -t pid/APP</c> in fs
/// mode write (and read, figure 17) against the namespace mini-cluster's app pod, each next to the
/// same client run directly on the host against the pod's files under /proc/APP/root; figure 18,
/// process spawns in the same write-mode session, touches no pod file; figure 19, small writes to a big pod file. The cluster is torn down
/// whatever happens.
/// </summary>
internal static class PodFileFigures
{
    public static async Task RunAsync(string header, Launcher? doppel, string workDirectory, PodFileSettings settings, TextWriter output, CancellationToken cancellationToken)
    {
        if (!Environment.IsPrivilegedProcess)
        {
            throw new BenchException("--p9 starts a mini-cluster of network namespaces and a local doppel-agent, which need root: run the bench as root.");
        }

        if (doppel is null || !File.Exists(Path.Combine(Path.GetDirectoryName(doppel.Path)!, "doppel-agent")))
        {
            throw new BenchException("--p9 runs artifacts/doppel and artifacts/doppel-agent, and one is missing: run scripts/build.sh first.");
        }

        await output.WriteLineAsync(header);
        await output.WriteLineAsync(
            $"doppel = `ip netns exec DEV {doppel.Path} exec -t pid/APP -f p9-write.json -- p9files ...` from a developer netns " +
            "(p9-write.json: feature.fs.mode = write; figure 17 also without -f, i.e. fs mode read); direct = the same p9files run on the host " +
            "against /proc/APP/root/data/p9/..., the pod's own files, no doppel. Every client times its own work, so session start-up is not in the figures.");
        await output.WriteLineAsync();

        var cluster = await ClusterRig.StartAsync(workDirectory, doppel, podFileBytes: 0, cancellationToken);
        try
        {
            await using var rig = await PodFileRig.CreateAsync(cluster, workDirectory, cancellationToken);
            await output.WriteLineAsync((await PodFileCreate.RunAsync(rig, settings, cancellationToken)).ToString());
            await output.WriteLineAsync((await PodRename.RunAsync(rig, settings, cancellationToken)).ToString());
            await output.WriteLineAsync((await PodLock.RunAsync(rig, settings, cancellationToken)).ToString());
            await output.WriteLineAsync((await UntrappedFcntl.RunAsync(rig, settings, cancellationToken)).ToString());
            await output.WriteLineAsync((await PodFileClose.RunAsync(rig, workDirectory, settings, cancellationToken)).ToString());
            await output.WriteLineAsync((await ProcessSpawn.RunAsync(rig, settings, cancellationToken)).ToString());
            await output.WriteLineAsync((await PodBigFile.RunAsync(rig, settings, cancellationToken)).ToString());
        }
        finally
        {
            await cluster.DisposeAsync();
            foreach (var failure in cluster.CleanupFailures)
            {
                await Console.Error.WriteLineAsync($"The mini-cluster left something behind: {failure}");
            }
        }
    }
}
