using System.Diagnostics;
using Doppel.Kubernetes.Tests.Cluster;
using Doppel.Kubernetes.Tests.Support;

namespace Doppel.Kubernetes.Tests.Exec;

/// <summary>
/// <c>doppel exec</c> with a cluster target, end to end on the real cluster, as an ordinary user
/// (uid 65534) in a developer network namespace that has no route anywhere: only the API server
/// is reachable, through <see cref="ApiServerRelay"/>. Whatever of the pod the program sees came
/// through the agent doppel placed and the API server's port-forward.
/// </summary>
[Collection(KubeCollection.Name)]
public sealed class ClusterExecTests(KubeFixture fixture)
{
    private const int NobodyId = 65534;

    private static readonly string s_bffYaml = $$$"""
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: bff-files, namespace: NS}
        data: {greeting.txt: "from-the-config-map"}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: bff, namespace: NS}
        spec:
          replicas: 1
          selector: {matchLabels: {app: bff}}
          template:
            metadata: {labels: {app: bff}}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: bff
                image: {{{Doppel.Testing.KubeCluster.BusyboxImage}}}
                imagePullPolicy: Never
                command: ["sleep", "100000"]
                env: [{name: BFF_GREETING, value: from-the-pod-spec}]
                volumeMounts: [{name: files, mountPath: /app/config}]
              volumes: [{name: files, configMap: {name: bff-files}}]
        """;

    [Fact]
    public async Task ExecOnADeploymentAsAnOrdinaryUserSeesThePodAndReachesAServiceByName()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await using var ns = await fixture.CreateNamespaceAsync("place", timeout.Token);
        await ns.ApplyAsync(s_bffYaml + "\n---\n" + WebWorkload.Yaml, timeout.Token);
        var bff = await ns.ReadyPodAsync("bff", timeout.Token);
        var web = await ns.ReadyPodAsync("web", timeout.Token);
        await using var developer = await Developer.StartAsync(fixture, timeout.Token);

        var (code, stdout, stderr) = await developer.ExecAsync(
            ["-t", "deployment/bff", "-n", ns.Name, "-i", fixture.AgentImage, "--", "/bin/sh", "-c",
             "echo env=$BFF_GREETING; echo file=$(cat /app/config/greeting.txt); echo host=$(hostname); echo web=$(curl -sS --max-time 30 http://web/); exit 7"],
            timeout.Token);

        Assert.True(code == 7, $"exit code {code}\n{stdout}\n{stderr}");
        Assert.Equal(
            ["env=from-the-pod-spec", "file=from-the-config-map", "host=" + bff.Name, $"web=hello-from-{web.Name}"],
            stdout.TrimEnd('\n').Split('\n'));
        Assert.Contains("resolving target deployment/bff", stderr, StringComparison.Ordinal);
        Assert.Contains($"target: pod {ns.Name}/{bff.Name} (container bff) on node {fixture.Cluster.NodeName}", stderr, StringComparison.Ordinal);
        Assert.Contains($"starting agent on node {fixture.Cluster.NodeName}", stderr, StringComparison.Ordinal);
        Assert.Contains("agent ready (pod ", stderr, StringComparison.Ordinal);
        await NothingOfDoppelRemainsAsync(ns, timeout.Token);
    }

    [Fact]
    public async Task AnAgentPodDeletedMidSessionIsReplacedAndTheProgramCarriesOn()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await using var ns = await fixture.CreateNamespaceAsync("heal", timeout.Token);
        await ns.ApplyAsync(s_bffYaml + "\n---\n" + WebWorkload.Yaml, timeout.Token);
        await ns.ReadyPodAsync("bff", timeout.Token);
        var web = await ns.ReadyPodAsync("web", timeout.Token);
        await using var developer = await Developer.StartAsync(fixture, timeout.Token);

        // The program asks the Service web once a second for 25 s (each request a new outgoing
        // connection through the agent); after its first answers, the agent's pod is deleted by force
        // (no grace: its connections die at once).
        var run = developer.ExecAsync(
            ["-t", "deployment/bff", "-n", ns.Name, "-i", fixture.AgentImage, "--", "/bin/sh", "-c",
             "i=0; while [ $i -lt 25 ]; do echo \"web=$(curl -sS --max-time 5 http://web/ 2>&1)\"; i=$((i+1)); sleep 1; done; exit 4"],
            timeout.Token);
        var first = string.Empty;
        await Poll.UntilAsync(
            async ct => (first = (await ns.KubectlAsync(["get", "pods", "-l", "app.kubernetes.io/managed-by=doppel", "--field-selector=status.phase=Running", "-o", "name"], ct)).Trim()).Length > 0,
            "the agent pod running",
            timeout.Token);
        await Task.Delay(TimeSpan.FromSeconds(3), timeout.Token); // the program has had answers through it
        await ns.KubectlAsync(["delete", first, "--force", "--grace-period=0", "--wait=false"], timeout.Token);

        var (code, stdout, stderr) = await run;

        Assert.True(code == 4, $"exit code {code}\n{stdout}\n{stderr}");
        var lines = stdout.TrimEnd('\n').Split('\n');
        Assert.Equal(25, lines.Length);
        Assert.Equal($"web=hello-from-{web.Name}", lines[0]);
        Assert.Equal($"web=hello-from-{web.Name}", lines[^1]); // through the new agent
        Assert.Contains($"the agent pod {ns.Name}/{first["pod/".Length..]} is gone (", stderr, StringComparison.Ordinal);
        Assert.Contains("starting a new agent. Connections it carried were reset.", stderr, StringComparison.Ordinal);
        Assert.Contains("a new agent is ready (pod ", stderr, StringComparison.Ordinal);
        await NothingOfDoppelRemainsAsync(ns, timeout.Token);
    }

    [Fact]
    public async Task ExecWithAnEphemeralAgentRunsItInTheTargetPodAndTheAgentEndsAfterTheSession()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await using var ns = await fixture.CreateNamespaceAsync("eph", timeout.Token);
        await ns.ApplyAsync(s_bffYaml, timeout.Token);
        var bff = await ns.ReadyPodAsync("bff", timeout.Token);
        await using var developer = await Developer.StartAsync(fixture, timeout.Token);

        var (code, stdout, stderr) = await developer.ExecAsync(
            ["-e", "-t", "deployment/bff", "-n", ns.Name, "-i", fixture.AgentImage, "--agent-ttl", "1", "--", "/bin/sh", "-c",
             "echo env=$BFF_GREETING; echo file=$(cat /app/config/greeting.txt); echo host=$(hostname); exit 5"],
            timeout.Token);

        Assert.True(code == 5, $"exit code {code}\n{stdout}\n{stderr}");
        Assert.Equal(["env=from-the-pod-spec", "file=from-the-config-map", "host=" + bff.Name], stdout.TrimEnd('\n').Split('\n'));
        Assert.Contains($"starting agent in pod {ns.Name}/{bff.Name} (ephemeral container)", stderr, StringComparison.Ordinal);
        Assert.Contains($"agent ready (pod {ns.Name}/{bff.Name}, container doppel-agent-", stderr, StringComparison.Ordinal);

        // No Job or pod of doppel's; the agent's container stays in the pod's spec (it cannot be
        // removed) and ends by itself agent.ttl seconds after the session, with exit code 0.
        await NothingOfDoppelRemainsAsync(ns, timeout.Token);
        var agent = await ns.KubectlAsync(["get", "pod", bff.Name, "-o", "jsonpath={.spec.ephemeralContainers[0].name}"], timeout.Token);
        Assert.StartsWith("doppel-agent-", agent, StringComparison.Ordinal);
        await Poll.UntilAsync(
            async ct => (await ns.KubectlAsync(["get", "pod", bff.Name, "-o", "jsonpath={.status.ephemeralContainerStatuses[0].state.terminated.exitCode}"], ct)) == "0",
            "the ephemeral agent's exit after the session",
            timeout.Token);
    }

    [Fact]
    public async Task TargetlessExecRunsTheAgentInAPlainPodAndReachesAServiceByName()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await using var ns = await fixture.CreateNamespaceAsync("place", timeout.Token);
        await ns.ApplyAsync(WebWorkload.Yaml, timeout.Token);
        var web = await ns.ReadyPodAsync("web", timeout.Token);
        await using var developer = await Developer.StartAsync(fixture, timeout.Token);

        var (code, stdout, stderr) = await developer.ExecAsync(
            ["-t", "targetless", "-n", ns.Name, "-i", fixture.AgentImage, "--", "/bin/sh", "-c",
             $"echo web=$(curl -sS --max-time 30 http://web.{ns.Name}.svc.cluster.local/); exit 3"],
            timeout.Token);

        Assert.True(code == 3, $"exit code {code}\n{stdout}\n{stderr}");
        Assert.Equal($"web=hello-from-{web.Name}\n", stdout);
        Assert.Contains($"starting agent in namespace {ns.Name}", stderr, StringComparison.Ordinal);
        await NothingOfDoppelRemainsAsync(ns, timeout.Token);
    }

    [Fact]
    public async Task AnAgentThatCannotStartIsOneSentenceAndItsJobIsDeleted()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await using var ns = await fixture.CreateNamespaceAsync("place", timeout.Token);
        await ns.ApplyAsync(s_bffYaml, timeout.Token);
        await ns.ReadyPodAsync("bff", timeout.Token);
        await using var developer = await Developer.StartAsync(fixture, timeout.Token);

        // An image the node does not have and may not pull (no registry): the agent never starts, and
        // doppel says so as soon as the kubelet reports the pull failure, not at the startup timeout.
        var (code, stdout, stderr) = await developer.ExecAsync(
            ["-t", "deployment/bff", "-n", ns.Name, "-i", "doppel.local/no-such-agent:0", "--agent-startup-timeout", "5", "--", "/bin/true"],
            timeout.Token);

        Assert.Equal(69, code);
        Assert.Equal("", stdout);
        var error = Assert.Single(stderr.Split('\n'), l => l.StartsWith("error:", StringComparison.Ordinal));
        Assert.Contains("The agent's image doppel.local/no-such-agent:0 cannot be pulled on node ", error, StringComparison.Ordinal);
        Assert.EndsWith("'/bin/true' was not started.", error, StringComparison.Ordinal);
        await NothingOfDoppelRemainsAsync(ns, timeout.Token);
    }

    /// <summary>No Job or pod doppel made (label app.kubernetes.io/managed-by=doppel) is left in the namespace.</summary>
    private static Task NothingOfDoppelRemainsAsync(TestNamespace ns, CancellationToken cancellationToken)
        => Poll.UntilAsync(
            async ct => (await ns.KubectlAsync(["get", "jobs,pods", "-l", "app.kubernetes.io/managed-by=doppel", "-o", "name"], ct)).Trim().Length == 0,
            "doppel's agent Job and pod are gone",
            cancellationToken);

    /// <summary>
    /// The developer: a network namespace with loopback only (plus the API server relay), a home
    /// directory with a copy of the admin kubeconfig, both owned by uid/gid 65534, as which doppel runs.
    /// </summary>
    private sealed class Developer : IAsyncDisposable
    {
        private readonly string _netns;
        private readonly string _home;
        private readonly ApiServerRelay _relay;

        private Developer(string netns, string home, ApiServerRelay relay)
        {
            _netns = netns;
            _home = home;
            _relay = relay;
        }

        public static async Task<Developer> StartAsync(KubeFixture fixture, CancellationToken cancellationToken)
        {
            var netns = "place-dev-" + Guid.NewGuid().ToString("N")[..6];
            await Run.CheckedAsync(["ip", "netns", "add", netns], cancellationToken);
            var home = Directory.CreateTempSubdirectory("place-home-").FullName;
            try
            {
                await Run.CheckedAsync(["ip", "-n", netns, "link", "set", "lo", "up"], cancellationToken);
                File.Copy(fixture.Cluster.Kubeconfig, Path.Combine(home, "kubeconfig"));
                File.SetUnixFileMode(Path.Combine(home, "kubeconfig"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
                await Run.CheckedAsync(["chown", "-R", $"{NobodyId}:{NobodyId}", home], cancellationToken);
                var relay = await ApiServerRelay.StartAsync("/run/netns/" + netns, ApiServerPort(fixture.Cluster.Kubeconfig));
                return new Developer(netns, home, relay);
            }
            catch
            {
                await Run.CheckedAsync(["ip", "netns", "delete", netns], CancellationToken.None);
                Directory.Delete(home, recursive: true);
                throw;
            }
        }

        /// <summary>Runs <c>doppel exec ARGS</c> as uid 65534 in the developer namespace, to its end.</summary>
        public async Task<(int Code, string Stdout, string Stderr)> ExecAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
        {
            var info = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false, WorkingDirectory = _home };
            foreach (var argument in (string[])["netns", "exec", _netns, "setpriv", $"--reuid={NobodyId}", $"--regid={NobodyId}", "--clear-groups", RepoPaths.Doppel, "exec", .. arguments])
            {
                info.ArgumentList.Add(argument);
            }

            foreach (var name in (string[])["http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"])
            {
                info.Environment.Remove(name);
            }

            info.Environment["HOME"] = _home;
            info.Environment["KUBECONFIG"] = Path.Combine(_home, "kubeconfig");
            using var process = Process.Start(info) ?? throw new InvalidOperationException("ip netns exec could not be started.");
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
            var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
            try
            {
                await process.WaitForExitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"doppel exec did not end in time:\n{await stdout}\n{await stderr}");
            }

            return (process.ExitCode, await stdout, await stderr);
        }

        public async ValueTask DisposeAsync()
        {
            await _relay.DisposeAsync();
            await Run.CheckedAsync(["ip", "netns", "delete", _netns], CancellationToken.None);
            Directory.Delete(_home, recursive: true);
        }

        /// <summary>The port of the kubeconfig's server (https://127.0.0.1:PORT).</summary>
        private static int ApiServerPort(string kubeconfig)
        {
            var server = File.ReadLines(kubeconfig).Select(l => l.Trim()).First(l => l.StartsWith("server:", StringComparison.Ordinal));
            return new Uri(server["server:".Length..].Trim()).Port;
        }
    }
}
