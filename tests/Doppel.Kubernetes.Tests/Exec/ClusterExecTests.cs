using System.Diagnostics;
using System.Globalization;
using Doppel.Kubernetes.Tests.Cluster;
using Doppel.Kubernetes.Tests.Support;
using Xunit.Abstractions;

namespace Doppel.Kubernetes.Tests.Exec;

/// <summary>
/// <c>doppel exec</c> with a cluster target, end to end on the real cluster, as an ordinary user
/// (uid 65534) in a developer network namespace that has no route anywhere: only the API server
/// is reachable, through <see cref="ApiServerRelay"/>. Whatever of the pod the program sees came
/// through the agent doppel placed and the API server's port-forward.
/// </summary>
[Collection(KubeCollection.Name)]
public sealed class ClusterExecTests(KubeFixture fixture, ITestOutputHelper output)
{
    private const int NobodyId = 65534;

    private static readonly string s_bffYaml = """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: bff-files, namespace: NS}
        data: {greeting.txt: "from-the-config-map"}
        ---
        """ + "\n" + BusyboxDeployment.Yaml(
        "bff",
        container: ["env: [{name: BFF_GREETING, value: from-the-pod-spec}]", "volumeMounts: [{name: files, mountPath: /app/config}]"],
        pod: ["volumes: [{name: files, configMap: {name: bff-files}}]"]);

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
    public async Task InWriteModeAFileRewrittenByTheProgramIsThePodsNewFile()
    {
        // The agent in its FROM-scratch image replaces the file through a random temporary name
        // (no libssl there: a RandomNumberGenerator call aborted the agent, "No usable version of libssl").
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await using var ns = await fixture.CreateNamespaceAsync("write", timeout.Token);
        await ns.ApplyAsync(WebWorkload.Yaml, timeout.Token);
        var web = await ns.ReadyPodAsync("web", timeout.Token);
        await using var developer = await Developer.StartAsync(fixture, timeout.Token);

        var (code, stdout, stderr) = await developer.ExecAsync(
            ["-t", "deployment/web", "-n", ns.Name, "-i", fixture.AgentImage, "--fs-mode", "write", "--", "/bin/sh", "-c",
             "echo rewritten-by-doppel > /var/www/index.html && cat /var/www/index.html"],
            timeout.Token);

        Assert.True(code == 0, $"exit code {code}\n{stdout}\n{stderr}");
        Assert.Equal("rewritten-by-doppel\n", stdout);
        Assert.Equal("rewritten-by-doppel\n", await ns.KubectlAsync(["exec", web.Name, "--", "cat", "/var/www/index.html"], timeout.Token));
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
        // One line for the replacement (issue 12 item 5).
        var replaced = Assert.Single(stderr.Split('\n'), l => l.Contains("a new agent took over", StringComparison.Ordinal));
        Assert.StartsWith($"warning: the agent pod {ns.Name}/{first["pod/".Length..]} is gone (", replaced, StringComparison.Ordinal);
        Assert.EndsWith("and the session carries on. Connections the old one carried were reset.", replaced, StringComparison.Ordinal);
        await NothingOfDoppelRemainsAsync(ns, timeout.Token);
    }

    [Fact]
    public async Task TheApiServerRestartedMidSessionDropsTheStreamsAndTheProgramGetsAnswersAgain()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await using var ns = await fixture.CreateNamespaceAsync("restart", timeout.Token);
        await ns.ApplyAsync(s_bffYaml + "\n---\n" + WebWorkload.Yaml, timeout.Token);
        await ns.ReadyPodAsync("bff", timeout.Token);
        var web = await ns.ReadyPodAsync("web", timeout.Token);
        await using var developer = await Developer.StartAsync(fixture, timeout.Token);

        // The program asks the Service web by name and by its ClusterIP about twice a second for
        // 90 s, each line stamped with the time (Unix ms) its answers came; the API server is
        // restarted after the first answers. Every port-forward stream of the session goes through
        // the API server and drops with it. (The IP shows the session's reconnect apart from the
        // cluster DNS, whose feed follows the API server too.)
        var ip = (await ns.KubectlAsync(["get", "service", "web", "-o", "jsonpath={.spec.clusterIP}"], timeout.Token)).Trim();
        var run = developer.ExecAsync(
            ["-t", "deployment/bff", "-n", ns.Name, "-i", fixture.AgentImage, "--", "/bin/sh", "-c",
             $"end=$(($(date +%s) + 90)); while [ $(date +%s) -lt $end ]; do n=$(curl -sS --max-time 3 http://web/ 2>&1); i=$(curl -sS --max-time 3 http://{ip}/ 2>&1); echo \"$(date +%s%3N)|$n|$i\"; sleep 0.5; done; exit 6"],
            timeout.Token);
        await Poll.UntilAsync(
            async ct => (await ns.KubectlAsync(["get", "pods", "-l", "app.kubernetes.io/managed-by=doppel", "--field-selector=status.phase=Running", "-o", "name"], ct)).Trim().Length > 0,
            "the agent pod running",
            timeout.Token);
        await Task.Delay(TimeSpan.FromSeconds(3), timeout.Token); // the program has had answers
        var away = await fixture.Cluster.RestartApiServerAsync(timeout.Token);
        var ready = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        var (code, stdout, stderr) = await run;

        Assert.True(code == 6, $"exit code {code}\n{stdout}\n{stderr}");
        var answers = stdout.TrimEnd('\n').Split('\n')
            .Select(l => l.Split('|'))
            .Select(p => (At: long.Parse(p[0], CultureInfo.InvariantCulture), Name: p[1], Ip: p[2]))
            .ToList();
        var ok = $"hello-from-{web.Name}";
        Assert.Equal((ok, ok), (answers[0].Name, answers[0].Ip));
        var byIp = answers.FirstOrDefault(a => a.At > ready && a.Ip == ok);
        var byName = answers.FirstOrDefault(a => a.At > ready && a.Name == ok);
        Assert.True(byIp.Ip is not null && byName.Name is not null, $"no answers after the API server was ready again\n{stdout}\n{stderr}");
        Assert.Equal((ok, ok), (answers[^1].Name, answers[^1].Ip));
        output.WriteLine($"API server away {away.TotalSeconds:0.0} s; first answer by ClusterIP {(byIp.At - ready) / 1000.0:0.0} s and by name " +
            $"{(byName.At - ready) / 1000.0:0.0} s after it was ready; {answers.Count(a => a.Ip != ok)} of {answers.Count} calls by IP failed");
        output.WriteLine(stdout);
        output.WriteLine(stderr);
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
        Assert.Contains($"session: targetless in namespace {ns.Name} (agent pod {ns.Name}/doppel-agent-", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("network namespace", stderr, StringComparison.Ordinal);
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

    [Fact]
    public async Task ANamespaceThatDoesNotExistIsOneSentenceAndExitCode69()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var developer = await Developer.StartAsync(fixture, timeout.Token);
        var missing = "exec-missing-" + Guid.NewGuid().ToString("N")[..6];

        var (code, stdout, stderr) = await developer.ExecAsync(["-n", missing, "-t", "deployment/x", "--", "/bin/true"], timeout.Token);

        Assert.Equal((69, ""), (code, stdout));
        Assert.Contains(
            $"error: The namespace {missing} does not exist in context 'doppel-test'; check -n (target.namespace) and the context, or list the namespaces with `kubectl get namespaces`; '/bin/true' was not started.\n",
            stderr,
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task CtrlCWhileTheAgentStartsDeletesItsJobSaysSoInOneLineAndExits130()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await using var ns = await fixture.CreateNamespaceAsync("interrupt", timeout.Token);
        await ns.ApplyAsync(s_bffYaml, timeout.Token);
        await ns.ReadyPodAsync("bff", timeout.Token);
        await using var developer = await Developer.StartAsync(fixture, timeout.Token);

        // A "registry" on the node's loopback that accepts connections and never answers: the
        // kubelet's pull of the agent image hangs (until containerd's own handshake timeout), so
        // the agent is still starting when SIGINT comes.
        using var registry = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        registry.Start();
        var image = $"127.0.0.1:{((System.Net.IPEndPoint)registry.LocalEndpoint).Port}/doppel/agent:hangs";
        var run = developer.StartExec(["-t", "deployment/bff", "-n", ns.Name, "-i", image, "--agent-startup-timeout", "120", "--", "/bin/true"]);
        var job = string.Empty;
        (int Code, string Stdout, string Stderr) result;
        try
        {
            await Poll.UntilAsync(
                async ct => (job = (await ns.KubectlAsync(["get", "jobs", "-l", "app.kubernetes.io/managed-by=doppel", "-o", "jsonpath={range .items[*]}{.metadata.name}{end}"], ct)).Trim()).Length > 0,
                "the agent's Job",
                timeout.Token);
            await Run.CheckedAsync(["kill", "-INT", run.Pid.ToString(CultureInfo.InvariantCulture)], timeout.Token);
            result = await run.Completion.WaitAsync(timeout.Token);
        }
        finally
        {
            if (!run.Completion.IsCompleted)
            {
                run.Kill();
            }
        }

        var (code, stdout, stderr) = result;

        Assert.True(code == 130, $"exit code {code}\n{stdout}\n{stderr}");
        Assert.Equal("", stdout);
        Assert.Equal($"doppel: interrupted while starting the agent; deleted job {ns.Name}/{job}.", stderr.TrimEnd('\n').Split('\n')[^1]);
        Assert.DoesNotContain("error:", stderr, StringComparison.Ordinal);
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
                var relay = await ApiServerRelay.StartForAsync("/run/netns/" + netns, fixture.Cluster.Kubeconfig);
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
            var run = StartExec(arguments);
            try
            {
                return await run.Completion.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                run.Kill();
                throw new TimeoutException($"doppel exec did not end in time:\n{await run.Stdout}\n{await run.Stderr}");
            }
        }

        /// <summary>
        /// Starts <c>doppel exec ARGS</c> as uid 65534 in the developer namespace (<c>ip netns exec</c>
        /// and <c>setpriv</c> exec in turn, so <see cref="RunningExec.Pid"/> is doppel's).
        /// </summary>
        public RunningExec StartExec(IReadOnlyList<string> arguments)
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
            var process = Process.Start(info) ?? throw new InvalidOperationException("ip netns exec could not be started.");
            process.StandardInput.Close();
            return new RunningExec(process);
        }

        public async ValueTask DisposeAsync()
        {
            await _relay.DisposeAsync();
            await Run.CheckedAsync(["ip", "netns", "delete", _netns], CancellationToken.None);
            Directory.Delete(_home, recursive: true);
        }
    }

    /// <summary>A <c>doppel exec</c> under way: its pid, its output, its end (the process is disposed then).</summary>
    private sealed class RunningExec
    {
        private readonly Process _process;

        public RunningExec(Process process)
        {
            _process = process;
            Pid = process.Id;
            Stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
            Stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
            Completion = CompleteAsync();
        }

        public int Pid { get; }

        public Task<string> Stdout { get; }

        public Task<string> Stderr { get; }

        /// <summary>The exit code and the whole output, once doppel has exited.</summary>
        public Task<(int Code, string Stdout, string Stderr)> Completion { get; }

        /// <summary>Kills doppel and what it started (by this pid's process tree).</summary>
        public void Kill() => _process.Kill(entireProcessTree: true);

        private async Task<(int, string, string)> CompleteAsync()
        {
            using (_process)
            {
                await _process.WaitForExitAsync(CancellationToken.None);
                return (_process.ExitCode, await Stdout, await Stderr);
            }
        }
    }
}
