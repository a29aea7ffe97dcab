using Xunit.Abstractions;
using Doppel.Testing.Tests.Support;

namespace Doppel.Testing.Tests;

/// <summary>Nothing of an instance outlives it: not after dispose, a failed start or a throwing test.</summary>
public sealed class LifecycleTests(ITestOutputHelper output)
{
    [Fact(Timeout = 40_000)]
    public async Task DisposeLeavesNoNamespaceMountProcessContainerOrDirectory()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var started = System.Diagnostics.Stopwatch.StartNew();
        var options = new MiniClusterOptions { Log = line => output.WriteLine($"{started.ElapsedMilliseconds,6} ms  {line}") };
        options.Pods.AddRange(ClusterFixture.Options().Pods);
        var cluster = await MiniCluster.StartAsync(options, timeout.Token);
        var pods = cluster.Pods.Append(cluster.Dns).ToList();
        var pids = pods.SelectMany(p => p.Processes).Select(p => p.Pid).ToList();
        var containers = pods.Select(p => p.ContainerId).OfType<string>().ToList();
        var extra = await cluster["client"].StartAsync(PodServer.Http(8081), timeout.Token);
        pids.Add(extra.Pid);

        Assert.NotEmpty(await Leftovers.FindAsync(cluster.Prefix, pids, containers, cluster.WorkDirectory));
        Assert.Single(containers);
        Assert.Equal(6, cluster.NetworkNamespaces.Count); // node, dev, kube-dns, 3 pods

        await cluster.DisposeAsync();

        Assert.Empty(cluster.CleanupFailures);
        Assert.Empty(await Leftovers.FindAsync(cluster.Prefix, pids, containers, cluster.WorkDirectory));
    }

    [Fact(Timeout = 40_000)]
    public async Task FailedStartRemovesWhatItBuilt()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var prefix = "dplf" + Guid.NewGuid().ToString("N")[..5];
        var options = ClusterFixture.Options(prefix);
        options.Pods.Add(new PodSpec("broken") { Servers = { PodServer.Run("crash", ["sh", "-c", "echo giving up; exit 3"], port: 5000) } });

        var error = await Assert.ThrowsAsync<MiniClusterException>(() => MiniCluster.StartAsync(options, timeout.Token));

        Assert.Contains("Server crash of pod broken exited before listening on Tcp port 5000; its output: giving up", error.Message);
        Assert.Empty(await Leftovers.FindAsync(prefix, [], [], Path.Join(Path.GetTempPath(), $"doppel-{prefix}")));
    }

    [Fact(Timeout = 40_000)]
    public async Task ThrowingTestStillTearsDown()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        string prefix = "", workDirectory = "";
        List<int> pids = [];
        List<string> containers = [];

        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await using var cluster = await MiniCluster.StartAsync(ClusterFixture.Options(), timeout.Token);
            (prefix, workDirectory) = (cluster.Prefix, cluster.WorkDirectory);
            pids = [.. cluster.Pods.SelectMany(p => p.Processes).Select(p => p.Pid)];
            containers = [.. cluster.Pods.Select(p => p.ContainerId).OfType<string>()];
            throw new InvalidOperationException("the test failed");
        });

        Assert.Empty(await Leftovers.FindAsync(prefix, pids, containers, workDirectory));
    }

    [Fact(Timeout = 40_000)]
    public async Task CancelledStartRemovesWhatItBuilt()
    {
        var prefix = "dplc" + Guid.NewGuid().ToString("N")[..5];
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        // Cancelled halfway: once dnsmasq runs, before the other pods exist.
        var options = new MiniClusterOptions
        {
            Prefix = prefix,
            Log = line =>
            {
                if (line.Contains("dnsmasq"))
                {
                    cancel.Cancel();
                }
            },
        };
        options.Pods.AddRange(ClusterFixture.Options().Pods);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => MiniCluster.StartAsync(options, cancel.Token));

        Assert.Empty(await Leftovers.FindAsync(prefix, [], [], Path.Join(Path.GetTempPath(), $"doppel-{prefix}")));
    }

    [Fact(Timeout = 40_000)]
    public async Task InstanceOfADeadTestHostIsRemovedByTheNextStart()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var cluster = await MiniCluster.StartAsync(ClusterFixture.Options(), timeout.Token);
        var pids = cluster.Pods.Append(cluster.Dns).SelectMany(p => p.Processes).Select(p => p.Pid).ToList();
        var containers = cluster.Pods.Select(p => p.ContainerId).OfType<string>().ToList();

        // Its owner is now a process that does not exist: as if the test host had been SIGKILLed.
        File.WriteAllText(Path.Join(cluster.WorkDirectory, ".minicluster-owner"), "999999999 1\n");
        await MiniCluster.RemoveOrphansAsync(timeout.Token);

        Assert.Empty(await Leftovers.FindAsync(cluster.Prefix, pids, containers, cluster.WorkDirectory));
        await cluster.DisposeAsync();
    }

    [Fact(Timeout = 20_000)]
    public async Task InstancesOfLivingTestHostsAreNotOrphans()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await using var cluster = await MiniCluster.StartAsync(new MiniClusterOptions { Pods = { new PodSpec("lonely") } }, timeout.Token);

        var removed = await MiniCluster.RemoveOrphansAsync(timeout.Token);

        Assert.DoesNotContain(cluster.Prefix, removed);
        Assert.True(PodProcessIsAlive(cluster["lonely"].Pid));
    }

    [Fact]
    public async Task InvalidOptionsAreRejectedBeforeAnythingIsBuilt()
    {
        var options = new MiniClusterOptions { Pods = { new PodSpec("Not_A_Label") } };

        var error = await Assert.ThrowsAsync<ArgumentException>(() => MiniCluster.StartAsync(options, CancellationToken.None));

        Assert.Contains("Pod name 'Not_A_Label' must be a unique DNS label", error.Message);
    }

    private static bool PodProcessIsAlive(int pid) => Leftovers.IsAlive(pid);
}
