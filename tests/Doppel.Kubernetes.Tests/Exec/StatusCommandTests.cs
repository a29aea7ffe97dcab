using System.Diagnostics;
using System.Text.Json.Nodes;
using Doppel.Kubernetes.Tests.Cluster;
using Doppel.Kubernetes.Tests.Support;

namespace Doppel.Kubernetes.Tests.Exec;

/// <summary>
/// <c>doppel status -n NS</c> on the real cluster (issue 12 item 4): alice's session, stealing the
/// port her program listens on with the seed filter <c>^X-Dev-User: alice$</c>, is listed under
/// the agent pod doppel placed for <c>deployment/bff</c>, asked through a port-forward.
/// </summary>
[Collection(KubeCollection.Name)]
public sealed class StatusCommandTests(KubeFixture fixture)
{
    private static readonly string s_bffYaml = BusyboxDeployment.Yaml("bff");

    private const int Port = 8080;

    // Listens on 8080 (doppel subscribes it at the agent), says so, and waits for a line on stdin.
    private const string Listener = "import socket, sys\ns = socket.socket()\ns.bind(('0.0.0.0', 8080))\ns.listen()\nprint('listening', flush=True)\nsys.stdin.readline()\n";

    [Fact]
    public async Task StatusInTheNamespaceShowsTheSessionsUserAndFilter()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await using var ns = await fixture.CreateNamespaceAsync("status", timeout.Token);
        await ns.ApplyAsync(s_bffYaml, timeout.Token);
        await ns.ReadyPodAsync("bff", timeout.Token);
        var config = Path.Combine(RepoPaths.Root, "tests", "Doppel.Config.Tests", "Examples", "seed-multi-developer.json");

        // alice's machine: a network namespace of its own (port 8080 free), the API server reached through a relay.
        var machine = "status-dev-" + Guid.NewGuid().ToString("N")[..6];
        await Run.CheckedAsync(["ip", "netns", "add", machine], timeout.Token);
        await using var cleanup = new NetnsCleanup(machine);
        await Run.CheckedAsync(["ip", "-n", machine, "link", "set", "lo", "up"], timeout.Token);
        await using var relay = await ApiServerRelay.StartAsync("/run/netns/" + machine, ApiServerPort(fixture.Cluster.Kubeconfig));
        using var alice = Start(["netns", "exec", machine, RepoPaths.Doppel, "exec", "-f", config, "-t", "deployment/bff", "-n", ns.Name, "-i", fixture.AgentImage, "--", "python3", "-c", Listener]);
        try
        {
            var line = await alice.StandardOutput.ReadLineAsync(timeout.Token);
            if (line != "listening")
            {
                // Only then: doppel's stderr ends when doppel does, which a running program does not.
                Assert.Fail($"alice's program did not start ('{line}'): " + await alice.StandardError.ReadToEndAsync(timeout.Token));
            }

            // The subscription follows the program's listen asynchronously.
            JsonNode? session = null;
            await Poll.UntilAsync(
                async ct =>
                {
                    var (code, stdout, _) = await StatusAsync([RepoPaths.Doppel, "status", "-n", ns.Name, "-o", "json"], ct);
                    session = code == 0 ? JsonNode.Parse(stdout)!["agents"]!.AsArray().SelectMany(a => a!["sessions"]!.AsArray()).FirstOrDefault(s => s!["subscriptions"]!.AsArray().Count > 0) : null;
                    return session is not null;
                },
                "alice's subscription listed by doppel status",
                timeout.Token);

            Assert.Equal("alice", session!["user"]!.GetValue<string>());
            var subscription = Assert.Single(session["subscriptions"]!.AsArray())!;
            Assert.Equal(Port, subscription["port"]!.GetValue<int>());
            Assert.Equal("^X-Dev-User: alice$", subscription["filter"]!.GetValue<string>());

            var text = await StatusAsync([RepoPaths.Doppel, "status", "-n", ns.Name], timeout.Token);
            Assert.True(text.Code == 0, text.Stderr);
            Assert.Matches(@"^doppel-agent-\S+ \(deployment/bff, pod bff-\S+\): agent \S+ since .*Z, 1 session\n", text.Stdout);
            Assert.Contains($"  alice@{Environment.MachineName}  steal {Port}, ^X-Dev-User: alice$  since ", text.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            try
            {
                await alice.StandardInput.WriteLineAsync("bye");
                alice.StandardInput.Close();
            }
            catch (IOException)
            {
                // doppel has ended already (the assertion above says why): nothing to tell it.
            }
            using var end = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                await alice.WaitForExitAsync(end.Token);
            }
            catch (OperationCanceledException)
            {
                alice.Kill(entireProcessTree: true);
            }
        }
    }

    [Fact]
    public async Task StatusInANamespaceThatDoesNotExistSaysSoAndExits69()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));

        var (code, stdout, stderr) = await StatusAsync([RepoPaths.Doppel, "status", "-n", "no-such-namespace-here"], timeout.Token);

        Assert.Equal(69, code);
        Assert.Equal(string.Empty, stdout);
        Assert.StartsWith("error: The namespace no-such-namespace-here does not exist in context ", stderr, StringComparison.Ordinal);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
    }

    /// <summary>Starts <paramref name="arguments"/> (<c>ip netns exec …</c> or doppel itself) with the cluster's kubeconfig and USER=alice.</summary>
    private Process Start(IReadOnlyList<string> arguments)
    {
        var info = new ProcessStartInfo(arguments[0] == RepoPaths.Doppel ? arguments[0] : "ip") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var argument in arguments[0] == RepoPaths.Doppel ? arguments.Skip(1) : arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["KUBECONFIG"] = fixture.Cluster.Kubeconfig;
        info.Environment["USER"] = "alice";
        return Process.Start(info) ?? throw new InvalidOperationException("doppel could not be started.");
    }

    private async Task<(int Code, string Stdout, string Stderr)> StatusAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        using var process = Start(arguments);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>The port of the kubeconfig's server (https://127.0.0.1:PORT).</summary>
    private static int ApiServerPort(string kubeconfig)
    {
        var server = File.ReadLines(kubeconfig).Select(l => l.Trim()).First(l => l.StartsWith("server:", StringComparison.Ordinal));
        return new Uri(server["server:".Length..].Trim()).Port;
    }

    /// <summary>Deletes the network namespace, also when the test fails.</summary>
    private sealed class NetnsCleanup(string name) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await Run.CheckedAsync(["ip", "netns", "delete", name], CancellationToken.None);
    }
}
