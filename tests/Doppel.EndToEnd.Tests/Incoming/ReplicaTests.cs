using System.Diagnostics;
using System.Globalization;
using Doppel.EndToEnd.Tests.Support;
using Doppel.Testing;

namespace Doppel.EndToEnd.Tests.Incoming;

/// <summary>
/// Issue 12 item 3 without Kubernetes: two pods of one "service" (web1, web2, each running the app
/// on port 80), an agent beside each — web1's started by the session, web2's by the test — and one
/// session (alice, <c>seed-multi-developer.json</c>) on pid/WEB1 that also subscribes at web2's agent
/// (<c>DOPPEL_REPLICA_AGENT_SOCKETS</c>). Alice's requests reach her app whichever pod the client
/// called; every other request stays with the pod called.
/// </summary>
[Collection(IncomingCollection.Name)]
public sealed class ReplicaTests
{
    private const int Requests = 50;

    [Fact]
    public async Task OneSessionStealsAlicesRequestsFromBothReplicasAndLeavesTheRestToEachPod()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var work = Directory.CreateTempSubdirectory("doppel-e2e-replicas-").FullName;
        var app = Path.Combine(work, "app.js");
        await File.WriteAllTextAsync(app, IncomingApp.Script, timeout.Token);
        var port = IncomingFixture.Port.ToString(CultureInfo.InvariantCulture);
        var cluster = await MiniCluster.StartAsync(
            new MiniClusterOptions
            {
                Pods =
                {
                    new PodSpec("web1") { Servers = { PodServer.Run("app", [IncomingFixture.Node, app, "web1", port], IncomingFixture.Port) } },
                    new PodSpec("web2") { Servers = { PodServer.Run("app", [IncomingFixture.Node, app, "web2", port], IncomingFixture.Port) } },
                    new PodSpec("client"),
                },
            },
            timeout.Token);
        try
        {
            await using var web2Agent = await SharedAgent.StartAsync(RepoPaths.Agent, cluster["web2"].Pid, null, timeout.Token);
            await using var alice = DoppelExecProcess.Start(
                RepoPaths.Doppel,
                cluster.Developer.Name,
                ["-v", "-f", IncomingFixture.SeedConfig, "-t", $"pid/{cluster["web1"].Pid}", "--", IncomingFixture.Node, app, "alice", port],
                work,
                new Dictionary<string, string?> { ["USER"] = "alice", ["DOPPEL_REPLICA_AGENT_SOCKETS"] = web2Agent.SocketPath });
            Assert.Equal("listening", await alice.ReadLineAsync(TimeSpan.FromSeconds(60), timeout.Token));

            await WaitUntilAsync(cluster, "web1", "alice", alice);
            await WaitUntilAsync(cluster, "web2", "alice", alice);
            Assert.Contains($"incoming: also stealing from agent unix:{web2Agent.SocketPath} (2 replicas)", alice.SoFar.Stderr, StringComparison.Ordinal);

            // Every request, on either pod: alice's to alice's app, the rest to the pod called.
            foreach (var pod in new[] { "web1", "web2" })
            {
                var marked = await CurlManyAsync(cluster, pod, "X-Dev-User: alice", timeout.Token);
                Assert.Equal(Enumerable.Range(0, Requests).Select(i => $"alice 1.1 GET /{pod}/{i}").ToList(), marked);
                var unmarked = await CurlManyAsync(cluster, pod, null, timeout.Token);
                Assert.Equal(Enumerable.Range(0, Requests).Select(i => $"{pod} 1.1 GET /{pod}/{i}").ToList(), unmarked);
            }

            // Alice's app ends by a request the second replica hands over.
            var quit = await cluster["client"].ExecInNetworkAsync(["curl", "-sS", "-m", "20", "-H", "X-Dev-User: alice", $"http://{cluster["web2"].IP}/quit"], timeout.Token);
            Assert.Equal("alice bye\n", quit.StandardOutput);
            var result = await alice.WaitAsync(TimeSpan.FromSeconds(30), timeout.Token);
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.DoesNotContain(result.Stderr.Split('\n'), line => line.StartsWith("error:", StringComparison.Ordinal));

            // -v: the counts of both agents, summed: 2 × 50 marked requests and the waits' probes.
            var summary = result.Stderr.Split('\n').Single(l => l.StartsWith("incoming: steal :80: ", StringComparison.Ordinal));
            var counted = int.Parse(summary.Split(' ')[3], CultureInfo.InvariantCulture);
            Assert.True(counted >= 2 * Requests, result.ToString());

            // After the session, both pods answer for themselves again.
            Assert.Equal("web2 1.1 GET /after\n", (await cluster["client"].ExecInNetworkAsync(["curl", "-sS", "-m", "20", "-H", "X-Dev-User: alice", $"http://{cluster["web2"].IP}/after"], CancellationToken.None)).StandardOutput);
        }
        finally
        {
            await cluster.DisposeAsync();
            Directory.Delete(work, recursive: true);
            Assert.Empty(cluster.CleanupFailures);
        }
    }

    /// <summary>The bodies' first lines of <see cref="Requests"/> requests from the client pod to <paramref name="pod"/>, one curl (one keep-alive connection).</summary>
    private static async Task<List<string>> CurlManyAsync(MiniCluster cluster, string pod, string? header, CancellationToken cancellationToken)
    {
        List<string> arguments = ["curl", "-sS", "-m", "60"];
        if (header is not null)
        {
            arguments.AddRange(["-H", header]);
        }

        arguments.AddRange(Enumerable.Range(0, Requests).Select(i => $"http://{cluster[pod].IP}/{pod}/{i}"));
        var result = await cluster["client"].ExecInNetworkAsync(arguments, cancellationToken);
        Assert.True(result.Succeeded, result.StandardError);
        return [.. result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries)];
    }

    /// <summary>curl from the client pod to <paramref name="pod"/> with alice's header until <paramref name="app"/> answers (subscriptions follow the listen asynchronously); 30 s at most.</summary>
    private static async Task WaitUntilAsync(MiniCluster cluster, string pod, string app, DoppelExecProcess doppel)
    {
        var limit = Stopwatch.StartNew();
        while (true)
        {
            var result = await cluster["client"].ExecInNetworkAsync(["curl", "-sS", "-m", "20", "-H", "X-Dev-User: alice", $"http://{cluster[pod].IP}/ready"], CancellationToken.None);
            if (result.StandardOutput.StartsWith(app + " ", StringComparison.Ordinal))
            {
                return;
            }

            Assert.True(limit.Elapsed < TimeSpan.FromSeconds(30), $"pod {pod} never routed alice's request to her app; last answer: {result.StandardOutput}{result.StandardError}\n{doppel.SoFar}");
            await Task.Delay(100);
        }
    }
}
