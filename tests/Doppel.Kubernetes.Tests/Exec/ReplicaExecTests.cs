using System.Diagnostics;
using System.Text;
using Doppel.Kubernetes.Tests.Cluster;
using Doppel.Kubernetes.Tests.Support;
using Xunit.Abstractions;

namespace Doppel.Kubernetes.Tests.Exec;

/// <summary>
/// Issue 12 item 3 on the real cluster: a session on <c>deployment/bff</c> (2 replicas behind the
/// Service bff) with <c>seed-multi-developer.json</c> (steal, header filter X-Dev-User: USER) takes
/// its requests at every ready replica, and follows the deployment when it is scaled to 3. The
/// session runs as uid 65534 in a developer network namespace that reaches only the API server
/// (as in <see cref="ClusterExecTests"/>); a client pod sends the requests through the Service.
/// </summary>
[Collection(KubeCollection.Name)]
public sealed class ReplicaExecTests(KubeFixture fixture, ITestOutputHelper output)
{
    private const int NobodyId = 65534;
    private const int Requests = 200;

    private static readonly string s_yaml = BusyboxDeployment.Yaml(
        "bff",
        replicas: 2,
        command: """["sh", "-c", "echo hello-from-$(hostname) > /var/www/index.html; exec httpd -f -p 8080 -h /var/www"]""",
        container: ["ports: [{containerPort: 8080}]", "readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}"]) + $$$"""

        ---
        apiVersion: v1
        kind: Service
        metadata: {name: bff, namespace: NS}
        spec:
          selector: {app: bff}
          ports: [{port: 80, targetPort: 8080}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: client, namespace: NS, labels: {app: client}}
        spec:
          terminationGracePeriodSeconds: 1
          containers:
          - name: client
            image: {{{Doppel.Testing.KubeCluster.BusyboxImage}}}
            imagePullPolicy: Never
            command: ["sleep", "100000"]
        """;

    // Alice's local app: answers "NAME PATH" on 8080; /quit ends it.
    private const string App = """
        import http.server, os, sys, threading
        name = sys.argv[1]
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'
            def do_GET(self):
                body = f'{name} {self.path}\n'.encode()
                self.send_response(200)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                if self.path == '/quit':
                    threading.Timer(0.3, lambda: os._exit(0)).start()
            def log_message(self, *args):
                pass
        server = http.server.ThreadingHTTPServer(('0.0.0.0', 8080), Handler)
        print('listening', flush=True)
        server.serve_forever()
        """;

    [Fact]
    public async Task ASessionStealsItsRequestsFromEveryReplicaAndFollowsAScaleUp()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(6));
        await using var ns = await fixture.CreateNamespaceAsync("replicas", timeout.Token);
        await ns.ApplyAsync(s_yaml, timeout.Token);
        await ns.KubectlAsync(["wait", "pod", "-l", "app", "--for", "condition=Ready", "--timeout", "90s"], timeout.Token);
        var pods = await PodsAsync(ns, timeout.Token);
        Assert.Equal(2, pods.Count);

        await using var alice = await Session.StartAsync(fixture, "alice", ["-t", "deployment/bff", "-n", ns.Name, "-i", fixture.AgentImage], App, timeout.Token);
        await alice.WaitForLineAsync("listening", timeout.Token);

        await AssertEveryReplicaThenScaleToThreeAsync(ns, pods, alice, timeout.Token);

        // Alice's app ends by a request through the Service, whichever replica took it.
        Assert.Equal("alice /quit\n", await GetAsync(ns, "bff", 80, "/quit", "alice", timeout.Token));
        var (code, stderr) = await alice.WaitAsync(timeout.Token);
        Assert.True(code == 0, $"exit code {code}\n{stderr}");
        Assert.DoesNotContain(stderr.Split('\n'), l => l.StartsWith("error:", StringComparison.Ordinal));
        await Poll.UntilAsync(
            async ct => (await ns.KubectlAsync(["get", "jobs,pods", "-l", "app.kubernetes.io/managed-by=doppel", "-o", "name"], ct)).Trim().Length == 0,
            "doppel's agent Jobs and pods are gone",
            timeout.Token);
    }

    [Fact]
    public async Task WhenTheSessionsOwnPodIsDeletedItSaysSoOnceAndTheOtherReplicaStillStealsForIt()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await using var ns = await fixture.CreateNamespaceAsync("ownpod", timeout.Token);
        await ns.ApplyAsync(s_yaml, timeout.Token);
        await ns.KubectlAsync(["wait", "pod", "-l", "app", "--for", "condition=Ready", "--timeout", "90s"], timeout.Token);
        var pods = await PodsAsync(ns, timeout.Token);

        await using var alice = await Session.StartAsync(fixture, "alice", ["-t", "deployment/bff", "-n", ns.Name, "-i", fixture.AgentImage], App, timeout.Token);
        await alice.WaitForLineAsync("listening", timeout.Token);
        var own = pods.Keys.Single(p => alice.Stderr.Contains($"target: pod {ns.Name}/{p} ", StringComparison.Ordinal));
        var otherIp = pods.Single(p => p.Key != own).Value;
        await UntilAliceAtAsync(ns, otherIp, timeout.Token);

        await ns.KubectlAsync(["delete", "pod", own, "--wait=false"], timeout.Token);

        var warning = $"warning: the session's pod {ns.Name}/{own} is gone (deleted or being deleted)";
        await Poll.UntilAsync(_ => Task.FromResult(alice.Stderr.Contains(warning, StringComparison.Ordinal)), "the warning that the session's pod is gone", timeout.Token);
        Assert.StartsWith("alice /after", await GetAsync(ns, otherIp, 8080, "/after", "alice", timeout.Token), StringComparison.Ordinal);
        await Task.Delay(TimeSpan.FromSeconds(3), timeout.Token); // more ticks of the follower: still said once
        Assert.Single(alice.Stderr.Split('\n'), l => l.StartsWith(warning, StringComparison.Ordinal));

        // The Deployment's replacement pod is followed, and the gone pod no longer counts: 2 replicas take alice's requests.
        await Poll.UntilAsync(
            _ => Task.FromResult(alice.Stderr.Split('\n').Any(l => l.StartsWith("incoming: also stealing from pod ", StringComparison.Ordinal) && !pods.Keys.Any(p => l.Contains(p, StringComparison.Ordinal)))),
            "the replacement pod followed",
            timeout.Token);
        var replacement = alice.Stderr.Split('\n').Single(l => l.StartsWith("incoming: also stealing from pod ", StringComparison.Ordinal) && !pods.Keys.Any(p => l.Contains(p, StringComparison.Ordinal)));
        Assert.EndsWith("(2 replicas)", replacement, StringComparison.Ordinal);
    }

    [Fact]
    public async Task APodTargetThatIsDeletedIsSaidOnce()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await using var ns = await fixture.CreateNamespaceAsync("podgone", timeout.Token);
        await ns.ApplyAsync(s_yaml, timeout.Token);
        await ns.KubectlAsync(["wait", "pod", "-l", "app", "--for", "condition=Ready", "--timeout", "90s"], timeout.Token);
        var own = (await PodsAsync(ns, timeout.Token)).Keys.Order(StringComparer.Ordinal).First();

        // A pod/ target has no replicas to follow; its going is still said, once (not found out call by call).
        await using var alice = await Session.StartAsync(fixture, "alice", ["-t", $"pod/{own}", "-n", ns.Name, "-i", fixture.AgentImage], App, timeout.Token, verbose: false);
        await alice.WaitForLineAsync("listening", timeout.Token);
        await ns.KubectlAsync(["delete", "pod", own, "--wait=false"], timeout.Token);

        var warning = $"warning: the session's pod {ns.Name}/{own} is gone (deleted or being deleted); its files, DNS and outgoing connections go with it and fail from now on, ";
        await Poll.UntilAsync(_ => Task.FromResult(alice.Stderr.Contains(warning, StringComparison.Ordinal)), "the warning that the session's pod is gone", timeout.Token);
        await Task.Delay(TimeSpan.FromSeconds(3), timeout.Token); // more ticks: still said once
        var said = Assert.Single(alice.Stderr.Split('\n'), l => l.StartsWith(warning, StringComparison.Ordinal));
        Assert.EndsWith("run doppel again with a target that is there; its incoming requests are gone with it.", said, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PortForwardMinusRStealsAtEveryReplicaAndFollowsAScaleUp()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(6));
        await using var ns = await fixture.CreateNamespaceAsync("pf-replicas", timeout.Token);
        await ns.ApplyAsync(s_yaml, timeout.Token);
        await ns.KubectlAsync(["wait", "pod", "-l", "app", "--for", "condition=Ready", "--timeout", "90s"], timeout.Token);
        var pods = await PodsAsync(ns, timeout.Token);

        // mirrord's `port-forward -R`: the pods' port 8080 stolen (alice's header filter) to the app on local 8080.
        await using var alice = await Session.StartPortForwardAsync(fixture, "alice", ["-t", "deployment/bff", "-n", ns.Name, "-i", fixture.AgentImage, "-R", "8080:8080"], App, timeout.Token);
        await alice.WaitForLineAsync("listening", timeout.Token);
        var scaled = await AssertEveryReplicaThenScaleToThreeAsync(ns, pods, alice, timeout.Token);

        // Ctrl+C: every agent's subscription ends (requests reach the pods again) and the agents go.
        Assert.Equal("alice /quit\n", await GetAsync(ns, "bff", 80, "/quit", "alice", timeout.Token));
        var (code, stderr) = await alice.InterruptAsync(timeout.Token);
        Assert.True(code == 0, $"exit code {code}\n{stderr}");
        Assert.DoesNotContain(stderr.Split('\n'), l => l.StartsWith("error:", StringComparison.Ordinal));
        foreach (var (name, ip) in scaled)
        {
            Assert.Equal($"hello-from-{name}\n", await GetAsync(ns, ip, 8080, "/", "alice", timeout.Token));
        }

        await Poll.UntilAsync(
            async ct => (await ns.KubectlAsync(["get", "jobs,pods", "-l", "app.kubernetes.io/managed-by=doppel", "-o", "name"], ct)).Trim().Length == 0,
            "doppel's agent Jobs and pods are gone",
            timeout.Token);
    }

    [Fact]
    public async Task OnATerminalEveryReplicaIsJoinedAtOnceAndNoSpinnerRedrawsOverTheProgram()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(6));
        await using var ns = await fixture.CreateNamespaceAsync("replicas-tty", timeout.Token);
        await ns.ApplyAsync(s_yaml, timeout.Token);
        await ns.KubectlAsync(["scale", "deployment", "bff", "--replicas=3"], timeout.Token);
        await Poll.UntilAsync(async ct => (await PodsAsync(ns, ct)).Count == 3, "three ready bff pods", timeout.Token);
        var pods = await PodsAsync(ns, timeout.Token);

        // doppel's stderr on a terminal: its progress is Spectre's spinner, which draws one live display at a time.
        await using var alice = await Session.StartOnATerminalAsync(fixture, "alice", ["-t", "deployment/bff", "-n", ns.Name, "-i", fixture.AgentImage], App, timeout.Token);
        await alice.WaitForLineAsync("listening", timeout.Token);

        // The two other replicas are joined together, well before the 30 s after which a failed join is tried again.
        using var soon = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
        soon.CancelAfter(TimeSpan.FromSeconds(25));
        foreach (var (_, ip) in pods)
        {
            await UntilAliceAtAsync(ns, ip, soon.Token);
        }

        // Once the program runs, nothing erases or redraws lines over its output.
        var output = alice.Stdout;
        var program = output[output.IndexOf("listening\n", StringComparison.Ordinal)..];
        Assert.DoesNotContain("\u001b[2K", program, StringComparison.Ordinal);
        Assert.DoesNotContain("\u001b[1A", program, StringComparison.Ordinal);
        Assert.Equal(2, output.Split('\n').Count(l => l.StartsWith("incoming: also stealing from pod ", StringComparison.Ordinal)));

        Assert.Equal("alice /quit\n", await GetAsync(ns, "bff", 80, "/quit", "alice", timeout.Token));
        var (code, _) = await alice.WaitAsync(timeout.Token);
        Assert.True(code == 0, $"exit code {code}\n{alice.Stdout}");
    }

    [Fact]
    public async Task AfterTheApiServerRestartsTheStealComesBackAtEveryReplicaAndTheSessionSaysSoOnce()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await using var ns = await fixture.CreateNamespaceAsync("apirestart", timeout.Token);
        await ns.ApplyAsync(s_yaml, timeout.Token);
        await ns.KubectlAsync(["wait", "pod", "-l", "app", "--for", "condition=Ready", "--timeout", "90s"], timeout.Token);
        var pods = await PodsAsync(ns, timeout.Token);

        // Default verbosity: what a user sees.
        await using var alice = await Session.StartAsync(fixture, "alice", ["-t", "deployment/bff", "-n", ns.Name, "-i", fixture.AgentImage], App, timeout.Token, verbose: false);
        await alice.WaitForLineAsync("listening", timeout.Token);
        foreach (var (_, ip) in pods)
        {
            await UntilAliceAtAsync(ns, ip, timeout.Token);
        }

        var before = alice.Stderr.Length;

        // Every port-forward of the session (to each replica's agent) goes through the API server and drops with it.
        var away = await fixture.Cluster.RestartApiServerAsync(timeout.Token);
        var ready = Stopwatch.StartNew();
        var back = new List<string>();
        foreach (var (name, ip) in pods)
        {
            await UntilAliceAtAsync(ns, ip, timeout.Token);
            back.Add($"{name} {ready.Elapsed.TotalSeconds:0.0} s");
        }

        output.WriteLine($"API server away {away.TotalSeconds:0.0} s; alice's requests reach her app again, after it was ready: {string.Join(", ", back)}");
        await Task.Delay(TimeSpan.FromSeconds(2), timeout.Token); // anything more the session would say
        var said = alice.Stderr[before..].Split('\n', StringSplitOptions.RemoveEmptyEntries);
        output.WriteLine(string.Join('\n', said));

        // The user is told once that the connection to the cluster dropped and once that it is back, nothing else.
        Assert.DoesNotContain(said, l => l.StartsWith("error:", StringComparison.Ordinal));
        Assert.True(said.Length <= 2, $"the session said more than one line each for losing and regaining the cluster:\n{string.Join('\n', said)}");
        Assert.Equal("alice /after\n", await GetAsync(ns, "bff", 80, "/after", "alice", timeout.Token));
    }

    /// <summary>
    /// Both <paramref name="pods"/> take alice's requests (each asked directly), then the Service's
    /// spread; scaled to 3, the new pod gets an agent and the subscription, and the requests it
    /// serves are routed too. Returns the 3 ready pods.
    /// </summary>
    private static async Task<Dictionary<string, string>> AssertEveryReplicaThenScaleToThreeAsync(TestNamespace ns, Dictionary<string, string> pods, Session alice, CancellationToken cancellationToken)
    {
        foreach (var (_, ip) in pods)
        {
            await UntilAliceAtAsync(ns, ip, cancellationToken);
        }

        var other = pods.Keys.Single(p => !alice.Stderr.Contains($"target: pod {ns.Name}/{p} ", StringComparison.Ordinal));
        Assert.Contains($"incoming: also stealing from pod {other} (2 replicas)", alice.Stderr, StringComparison.Ordinal);
        await AssertServiceRoutingAsync(ns, pods.Keys, cancellationToken);

        await ns.KubectlAsync(["scale", "deployment", "bff", "--replicas=3"], cancellationToken);
        await Poll.UntilAsync(async ct => (await PodsAsync(ns, ct)).Count == 3, "a third ready bff pod", cancellationToken);
        var scaled = await PodsAsync(ns, cancellationToken);
        var (newPod, newIp) = scaled.Single(p => !pods.ContainsKey(p.Key));
        await UntilAliceAtAsync(ns, newIp, cancellationToken);
        Assert.Contains($"incoming: also stealing from pod {newPod} (3 replicas)", alice.Stderr, StringComparison.Ordinal);
        await AssertServiceRoutingAsync(ns, scaled.Keys, cancellationToken);
        return scaled;
    }

    /// <summary>
    /// <see cref="Requests"/> requests with alice's header through the Service all reach alice's app;
    /// as many without it all reach the pods' app, and more than one replica answered them.
    /// </summary>
    private static async Task AssertServiceRoutingAsync(TestNamespace ns, IEnumerable<string> pods, CancellationToken cancellationToken)
    {
        var marked = await GetManyAsync(ns, "alice", cancellationToken);
        Assert.Equal(Enumerable.Range(0, Requests).Select(i => $"alice /r{i}").ToList(), marked);
        var unmarked = await GetManyAsync(ns, null, cancellationToken);
        Assert.Equal(Requests, unmarked.Count);
        var answeredBy = unmarked.Select(l => l["hello-from-".Length..]).ToHashSet(StringComparer.Ordinal);
        Assert.Subset(pods.ToHashSet(StringComparer.Ordinal), answeredBy);
        Assert.True(answeredBy.Count > 1, $"the Service sent all {Requests} requests to {string.Join(", ", answeredBy)}");
        Assert.All(unmarked, l => Assert.StartsWith("hello-from-", l, StringComparison.Ordinal));
    }

    /// <summary>Asks the pod at <paramref name="ip"/> directly (port 8080) with alice's header until her app answers.</summary>
    private static Task UntilAliceAtAsync(TestNamespace ns, string ip, CancellationToken cancellationToken)
        => Poll.UntilAsync(
            async ct => (await GetAsync(ns, ip, 8080, "/ready", "alice", ct)).StartsWith("alice ", StringComparison.Ordinal),
            $"alice's request to pod {ip} reaching her app",
            cancellationToken);

    /// <summary>The ready bff pods: name → IP.</summary>
    private static async Task<Dictionary<string, string>> PodsAsync(TestNamespace ns, CancellationToken cancellationToken)
    {
        var lines = await ns.KubectlAsync(
            ["get", "pods", "-l", "app=bff", "-o", "jsonpath={range .items[*]}{.metadata.name} {.status.podIP} {.metadata.deletionTimestamp} {.status.conditions[?(@.type==\"Ready\")].status}{\"\\n\"}{end}"],
            cancellationToken);
        return lines.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' '))
            .Where(f => f.Length == 4 && f[2].Length == 0 && f[3] == "True")
            .ToDictionary(f => f[0], f => f[1], StringComparer.Ordinal);
    }

    /// <summary>
    /// The shell line that sends one HTTP/1.0 GET of PATH (a new connection each time, so the Service
    /// picks a replica each time) from the client pod with busybox nc (its wget crashes), with
    /// alice's header when <paramref name="user"/> is set, and prints the answer's body (one line).
    /// PATH may name the loop's shell variable (<c>/r$i</c>): the format is in double quotes. nc sends
    /// its FIN as soon as the request is out, before the answer (a half-close).
    /// </summary>
    private static string GetLine(string host, int port, string path, string? user)
        => $"printf \"GET {path} HTTP/1.0\\r\\n{(user is null ? "" : $"X-Dev-User: {user}\\r\\n")}\\r\\n\" | nc {host} {port} | tail -n 1";

    /// <summary>One request from the client pod; its body's line, or the failure (a poll's earlier tries).</summary>
    private static async Task<string> GetAsync(TestNamespace ns, string host, int port, string path, string? user, CancellationToken cancellationToken)
    {
        try
        {
            return await ns.KubectlAsync(["exec", "client", "--", "sh", "-c", GetLine(host, port, path, user)], cancellationToken);
        }
        catch (Doppel.Testing.KubeClusterException e)
        {
            return e.Message;
        }
    }

    /// <summary><see cref="Requests"/> requests (/r0, /r1, …) through the Service from the client pod, their answers in order.</summary>
    private static async Task<List<string>> GetManyAsync(TestNamespace ns, string? user, CancellationToken cancellationToken)
    {
        // The pods' busybox httpd has index.html only: their requests ask for it (/?r$i), alice's app answers any path.
        var script = $"i=0; while [ $i -lt {Requests} ]; do {GetLine("bff", 80, user is null ? "/?r$i" : "/r$i", user)}; i=$((i+1)); done";
        var output = await ns.KubectlAsync(["exec", "client", "--", "sh", "-c", script], cancellationToken);
        return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries)];
    }

    /// <summary>
    /// One developer's <c>doppel exec -f seed-multi-developer.json ARGS -- python3 app.py USER</c>, running, as
    /// uid 65534 in a network namespace of its own with loopback and the API server relay only; its
    /// stdout and stderr are collected as they come.
    /// </summary>
    private sealed class Session : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly string _netns;
        private readonly string _home;
        private readonly ApiServerRelay _relay;
        private readonly StringBuilder _stdout = new();
        private readonly StringBuilder _stderr = new();

        private Session(Process process, string netns, string home, ApiServerRelay relay)
        {
            _process = process;
            _netns = netns;
            _home = home;
            _relay = relay;
            _process.OutputDataReceived += (_, e) => Append(_stdout, e.Data);
            _process.ErrorDataReceived += (_, e) => Append(_stderr, e.Data);
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        /// <summary>What the program printed (on a terminal, doppel's own lines too: one pty carries both).</summary>
        public string Stdout
        {
            get
            {
                lock (_stdout)
                {
                    return _stdout.ToString();
                }
            }
        }

        public string Stderr
        {
            get
            {
                lock (_stderr)
                {
                    return _stderr.ToString();
                }
            }
        }

        /// <summary><c>doppel exec [-v] -f doppel.json ARGS -- python3 app.py USER</c> (verbose unless <paramref name="verbose"/> is false).</summary>
        public static Task<Session> StartAsync(KubeFixture fixture, string user, IReadOnlyList<string> arguments, string app, CancellationToken cancellationToken, bool verbose = true)
            => StartCommandAsync(fixture, user, [RepoPaths.Doppel, "exec", .. (verbose ? (string[])["-v"] : []), "-f", "doppel.json", .. arguments, "--", "python3", "app.py", user], app, cancellationToken);

        /// <summary>
        /// <see cref="StartAsync"/> (not verbose) with doppel on a pseudo-terminal: Python's <c>pty.spawn</c>
        /// runs it with a pty as its stdin, stdout and stderr, and copies the pty's output to <see cref="Stdout"/>
        /// (escape sequences included; the reader splits lines at CR and LF).
        /// </summary>
        public static Task<Session> StartOnATerminalAsync(KubeFixture fixture, string user, IReadOnlyList<string> arguments, string app, CancellationToken cancellationToken)
            => StartCommandAsync(
                fixture,
                user,
                ["env", "TERM=xterm", "python3", "-c", "import os, pty, sys; sys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))", RepoPaths.Doppel, "exec", "-f", "doppel.json", .. arguments, "--", "python3", "app.py", user],
                app,
                cancellationToken);

        /// <summary>
        /// The app started by a shell in the background, then <c>doppel port-forward -v -f doppel.json ARGS</c>
        /// in the shell's place (so the process is doppel's, and SIGINT reaches it); ARGS must not need quoting.
        /// </summary>
        public static Task<Session> StartPortForwardAsync(KubeFixture fixture, string user, IReadOnlyList<string> arguments, string app, CancellationToken cancellationToken)
            => StartCommandAsync(fixture, user, ["/bin/sh", "-c", $"python3 app.py {user} & exec {RepoPaths.Doppel} port-forward -v -f doppel.json {string.Join(' ', arguments)}"], app, cancellationToken);

        private static async Task<Session> StartCommandAsync(KubeFixture fixture, string user, IReadOnlyList<string> command, string app, CancellationToken cancellationToken)
        {
            var netns = $"replicas-{user}-{Guid.NewGuid().ToString("N")[..6]}";
            await Run.CheckedAsync(["ip", "netns", "add", netns], cancellationToken);
            var home = Directory.CreateTempSubdirectory("replicas-home-").FullName;
            ApiServerRelay? relay = null;
            try
            {
                await Run.CheckedAsync(["ip", "-n", netns, "link", "set", "lo", "up"], cancellationToken);
                File.Copy(fixture.Cluster.Kubeconfig, Path.Combine(home, "kubeconfig"));
                File.SetUnixFileMode(Path.Combine(home, "kubeconfig"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
                File.Copy(Path.Combine(RepoPaths.Root, "tests", "Doppel.Config.Tests", "Examples", "seed-multi-developer.json"), Path.Combine(home, "doppel.json"));
                await File.WriteAllTextAsync(Path.Combine(home, "app.py"), app, cancellationToken);
                await Run.CheckedAsync(["chown", "-R", $"{NobodyId}:{NobodyId}", home], cancellationToken);
                relay = await ApiServerRelay.StartForAsync("/run/netns/" + netns, fixture.Cluster.Kubeconfig);

                var info = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false, WorkingDirectory = home };
                foreach (var argument in (string[])["netns", "exec", netns, "setpriv", $"--reuid={NobodyId}", $"--regid={NobodyId}", "--clear-groups", .. command])
                {
                    info.ArgumentList.Add(argument);
                }

                foreach (var name in (string[])["http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"])
                {
                    info.Environment.Remove(name);
                }

                info.Environment["HOME"] = home;
                info.Environment["USER"] = user;
                info.Environment["KUBECONFIG"] = Path.Combine(home, "kubeconfig");
                var process = Process.Start(info) ?? throw new InvalidOperationException("ip netns exec could not be started.");
                process.StandardInput.Close();
                return new Session(process, netns, home, relay);
            }
            catch
            {
                if (relay is not null)
                {
                    await relay.DisposeAsync();
                }

                await Run.CheckedAsync(["ip", "netns", "delete", netns], CancellationToken.None);
                Directory.Delete(home, recursive: true);
                throw;
            }
        }

        /// <summary>Waits until the program printed <paramref name="line"/>; throws with doppel's stderr when doppel ends first.</summary>
        public Task WaitForLineAsync(string line, CancellationToken cancellationToken)
            => Poll.UntilAsync(
                _ =>
                {
                    lock (_stdout)
                    {
                        if (_stdout.ToString().Split('\n').Contains(line))
                        {
                            return Task.FromResult(true);
                        }
                    }

                    return _process.HasExited ? throw new InvalidOperationException($"doppel exited ({_process.ExitCode}) before '{line}':\n{Stderr}") : Task.FromResult(false);
                },
                $"the program's '{line}'",
                cancellationToken);

        /// <summary>SIGINT to doppel (Ctrl+C), then its exit: its code and stderr.</summary>
        public async Task<(int Code, string Stderr)> InterruptAsync(CancellationToken cancellationToken)
        {
            using (var kill = Process.Start("kill", ["-INT", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync(cancellationToken);
            }

            return await WaitAsync(cancellationToken);
        }

        /// <summary>Waits for doppel's exit: its code and stderr.</summary>
        public async Task<(int Code, string Stderr)> WaitAsync(CancellationToken cancellationToken)
        {
            await _process.WaitForExitAsync(cancellationToken);
            _process.WaitForExit(); // the output events have all come
            return (_process.ExitCode, Stderr);
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
            await _relay.DisposeAsync();
            await Run.CheckedAsync(["ip", "netns", "delete", _netns], CancellationToken.None);
            Directory.Delete(_home, recursive: true);
        }

        private static void Append(StringBuilder builder, string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (builder)
            {
                builder.Append(line).Append('\n');
            }
        }
    }
}
