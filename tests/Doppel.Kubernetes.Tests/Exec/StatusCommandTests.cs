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
        await using var relay = await ApiServerRelay.StartForAsync("/run/netns/" + machine, fixture.Cluster.Kubeconfig);
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

            // A second replica gets an agent with alice's subscription; another target of the same
            // pods (a Service selecting them, which resolves to one of them) lists both agents.
            await ns.KubectlAsync(["scale", "deployment", "bff", "--replicas=2"], timeout.Token);
            await ns.ApplyAsync($"apiVersion: v1\nkind: Service\nmetadata: {{name: bff, namespace: {ns.Name}}}\nspec:\n  selector: {{app: bff}}\n  ports: [{{port: 80, targetPort: {Port}}}]\n", timeout.Token);
            await Poll.UntilAsync(
                async ct => System.Text.RegularExpressions.Regex.Count((await StatusAsync([RepoPaths.Doppel, "status", "-n", ns.Name], ct)).Stdout, @"\): agent \S+ since .*Z, 1 session\n") == 2,
                "doppel status listing alice at both replicas' agents",
                timeout.Token);
            var byService = await StatusAsync([RepoPaths.Doppel, "status", "-t", "service/bff", "-n", ns.Name], timeout.Token);
            Assert.True(byService.Code == 0, byService.Stderr);
            Assert.True(System.Text.RegularExpressions.Regex.Count(byService.Stdout, @"^doppel-agent-\S+ \(deployment/bff, pod bff-\S+\): agent \S+ since .*Z, 1 session$", System.Text.RegularExpressions.RegexOptions.Multiline) == 2, byService.Stdout);

            // The replica target itself: each replica's agent once, each with alice's one session (a heading and her line).
            var byDeployment = await StatusAsync([RepoPaths.Doppel, "status", "-t", "deployment/bff", "-n", ns.Name], timeout.Token);
            Assert.True(byDeployment.Code == 0, byDeployment.Stderr);
            var lines = byDeployment.Stdout.TrimEnd('\n').Split('\n');
            var headings = lines.Select(l => System.Text.RegularExpressions.Regex.Match(l, @"^(doppel-agent-\S+) \(deployment/bff, pod (bff-\S+)\): agent \S+ since .*Z, 1 session$")).Where(m => m.Success).ToList();
            Assert.True(lines.Length == 4 && headings.Count == 2, byDeployment.Stdout);
            Assert.True(headings.Select(m => m.Groups[1].Value).Distinct().Count() == 2 && headings.Select(m => m.Groups[2].Value).Distinct().Count() == 2, byDeployment.Stdout);
            Assert.True(lines.Count(l => l.StartsWith($"  alice@{Environment.MachineName}  steal {Port}, ", StringComparison.Ordinal)) == 2, byDeployment.Stdout);

            // The pods deleted (the deployment makes others): alice's own agent still runs for her, and says its pod is gone.
            await ns.KubectlAsync(["delete", "pods", "-l", "app=bff", "--wait=false"], timeout.Token);
            var last = "";
            try
            {
                await Poll.UntilAsync(
                    async ct => (last = (await StatusAsync([RepoPaths.Doppel, "status", "-n", ns.Name], ct)).Stdout).Contains(", its target pod is gone): agent ", StringComparison.Ordinal),
                    "doppel status saying the agent's target pod is gone",
                    timeout.Token);
            }
            catch (TimeoutException e)
            {
                throw new TimeoutException($"{e.Message} It said:\n{last}", e);
            }

            var json = await StatusAsync([RepoPaths.Doppel, "status", "-n", ns.Name, "-o", "json"], timeout.Token);
            var agents = JsonNode.Parse(json.Stdout)!["agents"]!.AsArray();
            // alice's own agent, still serving her (the other replica's agent may linger a moment without sessions).
            Assert.Single(agents, a => a!["target_pod_gone"]!.GetValue<bool>() && a["sessions"]!.AsArray().Count == 1);
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
}
