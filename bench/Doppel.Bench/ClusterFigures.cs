namespace Doppel.Bench;

/// <summary>
/// Figures 4–7 (<c>--p3</c>): the whole product path, <c>doppel exec -t pid/APP</c> from a
/// developer netns through the doppel-agent it starts, against the namespace mini-cluster, each
/// next to the same client run directly in the pod's netns. The cluster is torn down whatever happens.
/// </summary>
internal static class ClusterFigures
{
    public static async Task RunAsync(string header, Launcher? doppel, string workDirectory, ClusterSettings settings, TextWriter output, CancellationToken cancellationToken)
    {
        if (!Environment.IsPrivilegedProcess)
        {
            throw new BenchException("--p3 starts a mini-cluster of network namespaces and a local doppel-agent, which need root: run the bench as root.");
        }

        if (doppel is null || !File.Exists(Path.Combine(Path.GetDirectoryName(doppel.Path)!, "doppel-agent")))
        {
            throw new BenchException("--p3 runs artifacts/doppel and artifacts/doppel-agent, and one is missing: run scripts/build.sh first.");
        }

        await output.WriteLineAsync(header);
        await output.WriteLineAsync(
            $"doppel = `ip netns exec DEV {doppel.Path} exec -t pid/APP -- p3net ...` from a developer netns with no route out (default configuration: " +
            "outgoing TCP through the agent, fs mode read); direct = the same p3net run in the app pod's netns (ip netns exec), no doppel. " +
            "Every client times its own work, so session start-up is not in the figures.");
        await output.WriteLineAsync();

        var rig = await ClusterRig.StartAsync(workDirectory, doppel, settings, cancellationToken);
        try
        {
            await output.WriteLineAsync((await TcpThroughput.RunAsync(rig, settings, cancellationToken)).ToString());
            await output.WriteLineAsync((await PortForwardThroughput.RunAsync(rig, doppel, workDirectory, settings, cancellationToken)).ToString());
            await output.WriteLineAsync((await RequestLatency.RunAsync(rig, settings, cancellationToken)).ToString());
            await output.WriteLineAsync((await RemoteFileRead.RunAsync(rig, settings, cancellationToken)).ToString());
            await output.WriteLineAsync((await AgentMemory.RunAsync(rig, settings, cancellationToken)).ToString());
        }
        finally
        {
            await rig.DisposeAsync();
            foreach (var failure in rig.CleanupFailures)
            {
                await Console.Error.WriteLineAsync($"The mini-cluster left something behind: {failure}");
            }
        }
    }
}
