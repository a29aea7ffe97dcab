using System.Diagnostics;
using System.Globalization;
using Doppel.EndToEnd.Tests.Support;
using Doppel.Testing;

namespace Doppel.EndToEnd.Tests.Incoming;

/// <summary>
/// Kills under load (issue 10, "Must show"): an agent SIGKILLed while wrk hammers the stolen port
/// leaves no redirect behind (owner table at once, lease within the lease); a session SIGKILLed
/// gives its requests back to the pod's app within 5 s, and while sessions come and go no unmatched
/// request fails. Sessions are real <c>doppel exec</c> runs sharing one agent the test started
/// (<c>DOPPEL_AGENT_SOCKET</c>); each serves a Python app on its own local port mapped to the pod's 80.
/// </summary>
public sealed class LoadAndKillTests(LoadCluster cluster) : IClassFixture<LoadCluster>
{
    /// <summary>How long a redirect may outlive its agent in lease mode (RedirectOptions.Lease's default).</summary>
    private static readonly TimeSpan s_lease = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan s_start = TimeSpan.FromSeconds(60);

    // A developer's app: answers "NAME's app" on PORT; prints "listening PID"; with LIFETIME > 0 it
    // closes its listener and exits after that many seconds (the session then unsubscribes).
    private const string App = """
        import http.server, os, sys, threading
        name, port, lifetime = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
        body = (name + "'s app\n").encode()
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *args):
                pass
        http.server.ThreadingHTTPServer.daemon_threads = True
        server = http.server.ThreadingHTTPServer(("", port), Handler)
        print("listening", os.getpid(), flush=True)
        if lifetime > 0:
            threading.Timer(lifetime, server.shutdown).start()
        server.serve_forever()
        server.server_close()
        """;

    private string Url => $"http://{cluster.Backend.IP}/";

    [Fact]
    public Task AfterTheAgentIsKilledUnderLoadNewConnectionsReachThePodsAppAtOnceAndItsOwnerTableIsGone()
        => AgentKilledUnderLoadAsync(lease: false, TimeSpan.FromSeconds(1));

    [Fact]
    public Task WithTheLeaseAfterTheAgentIsKilledUnderLoadNewConnectionsReachThePodsAppWithinTheLease()
        => AgentKilledUnderLoadAsync(lease: true, s_lease);

    [Fact]
    public async Task AKilledSessionsRequestsGoBackToThePodAndNoUnmatchedRequestFailsWhileSessionsComeAndGo()
    {
        await using var agent = await SharedAgent.StartAsync(RepoPaths.Agent, cluster.Backend.Pid, null, CancellationToken.None);
        var apps = new List<int>();
        try
        {
            await using var alice = await StartSessionAsync(agent, "alice", 8001, filtered: true, lifetime: 0, apps);
            await using var bob = await StartSessionAsync(agent, "bob", 8002, filtered: true, lifetime: 0, apps);
            await WaitForAnswerAsync("alice", "alice's app\n", TimeSpan.FromSeconds(30), agent);
            await WaitForAnswerAsync("bob", "bob's app\n", TimeSpan.FromSeconds(30), agent);

            // Unmatched load, and alice's own, for the rest of the test.
            var unmatched = WrkAsync(seconds: 12, user: null);
            var aliceLoad = WrkAsync(seconds: 12, user: "alice");

            // Carol and dave subscribe (each their own filter) and unsubscribe (their apps close their listeners and exit) under that load.
            (string Name, int Port)[] churn = [("carol", 8003), ("dave", 8004)];
            var others = await Task.WhenAll(churn.Select(o => StartSessionAsync(agent, o.Name, o.Port, filtered: true, lifetime: 3, apps)));
            try
            {
                for (var i = 0; i < others.Length; i++)
                {
                    var (name, port) = churn[i];
                    var ended = await others[i].WaitAsync(s_start);
                    Assert.True(ended.ExitCode == 0, $"{name}'s session: {ended}");
                    Assert.Contains($"steal :80 → localhost:{port} (filter ^X-Dev-User: {name}$)", ended.Stderr, StringComparison.Ordinal);
                }
            }
            finally
            {
                foreach (var other in others)
                {
                    await other.DisposeAsync();
                }
            }

            // SIGKILL alice's doppel (this test's own, by its PID): her requests go back to the pod's app.
            using (var aliceProcess = Process.GetProcessById(alice.Pid))
            {
                aliceProcess.Kill();
            }

            // Her app outlives its supervisor and holds doppel's stdout open: it goes too, so doppel's output ends.
            KillApps([apps[0]]);
            Assert.Equal(137, (await alice.WaitAsync(TimeSpan.FromSeconds(10))).ExitCode);

            await WaitForAnswerAsync("alice", LoadCluster.PodBody, TimeSpan.FromSeconds(5), agent);
            Assert.Equal("bob's app\n", await CurlAsync("bob"));
            Assert.Equal(LoadCluster.PodBody, await CurlAsync(null));

            var unmatchedReport = await unmatched;
            Assert.True(unmatchedReport.Requests > 0, unmatchedReport.Output);
            Assert.True(unmatchedReport.Failures == 0, $"unmatched requests failed while sessions came and went:\n{unmatchedReport.Output}\nagent: {agent.ErrorOutput}");
            var aliceReport = await aliceLoad;
            Assert.True(aliceReport.Requests > 0, aliceReport.Output);
        }
        finally
        {
            KillApps(apps);
        }
    }

    private async Task AgentKilledUnderLoadAsync(bool lease, TimeSpan limit)
    {
        var environment = lease ? new Dictionary<string, string> { ["DOPPEL_AGENT_REDIRECT_LEASE"] = "1" } : null;
        await using var agent = await SharedAgent.StartAsync(RepoPaths.Agent, cluster.Backend.Pid, environment, CancellationToken.None);
        var apps = new List<int>();
        try
        {
            await using var session = await StartSessionAsync(agent, "alice", 8001, filtered: false, lifetime: 0, apps);
            await WaitForAnswerAsync(null, "alice's app\n", TimeSpan.FromSeconds(30), agent);
            var ruleset = await RulesetAsync();
            Assert.Contains(lease ? "flags timeout" : "flags owner", ruleset, StringComparison.Ordinal);

            var load = WrkAsync(seconds: 6, user: null);
            await Task.Delay(TimeSpan.FromSeconds(2));
            var sinceKill = Stopwatch.StartNew();
            await agent.KillAsync();

            // A connection made within the limit reaches the pod's app: the first curl started within it that got the pod's answer.
            var reachedAt = await WaitForAnswerAsync(null, LoadCluster.PodBody, limit + TimeSpan.FromSeconds(5), agent, sinceKill);
            Assert.True(reachedAt <= limit, $"new connections reached the pod's app {reachedAt.TotalMilliseconds:0} ms after the agent's SIGKILL, more than {limit.TotalMilliseconds:0} ms");

            var report = await load;
            Assert.True(report.Requests > 0, report.Output);

            // Owner: the table is gone. Lease: the table stays (a new agent removes it) but redirects no port.
            ruleset = await RulesetAsync();
            if (lease)
            {
                Assert.DoesNotContain("elements", ruleset, StringComparison.Ordinal);
            }
            else
            {
                Assert.DoesNotContain("doppel_", ruleset, StringComparison.Ordinal);
            }
        }
        finally
        {
            KillApps(apps);
        }
    }

    /// <summary>
    /// Starts <c>doppel exec --steal</c> for <paramref name="user"/> on the shared agent; its app
    /// listens on <paramref name="localPort"/>, mapped to the pod's port 80; with
    /// <paramref name="filtered"/> the seed's header filter (<c>X-Dev-User: USER</c>) selects its requests.
    /// </summary>
    private async Task<DoppelExecProcess> StartSessionAsync(SharedAgent agent, string user, int localPort, bool filtered, double lifetime, List<int> apps)
    {
        var filter = filtered ? """, "http_filter": { "header_filter": "^X-Dev-User: {{ get_env(name=\"USER\", default=\"unknown\") }}$" }""" : string.Empty;
        var config = Path.Combine(cluster.WorkDirectory, $"{user}-{localPort}.json");
        await File.WriteAllTextAsync(config, $$"""
            { "feature": { "network": { "incoming": { "mode": "steal", "port_mapping": [[{{localPort}}, {{LoadCluster.Port}}]]{{filter}} } } } }
            """);
        var script = Path.Combine(cluster.WorkDirectory, "app.py");
        await File.WriteAllTextAsync(script, App);
        var doppel = DoppelExecProcess.Start(
            RepoPaths.Doppel,
            cluster.Cluster.Developer.Name,
            ["-f", config, "-t", $"pid/{cluster.Backend.Pid}", "--", ClusterFixture.Python, script, user, localPort.ToString(CultureInfo.InvariantCulture), lifetime.ToString(CultureInfo.InvariantCulture)],
            cluster.WorkDirectory,
            agent.SessionEnvironment(user));
        var line = await doppel.ReadLineAsync(s_start);
        if (line?.Split(' ') is not ["listening", var pid])
        {
            var result = await doppel.WaitAsync(TimeSpan.FromSeconds(10));
            await doppel.DisposeAsync();
            throw new InvalidOperationException($"{user}'s app did not start: '{line}' {result}");
        }

        lock (apps)
        {
            apps.Add(int.Parse(pid, CultureInfo.InvariantCulture));
        }

        return doppel;
    }

    /// <summary>
    /// Polls with curl (a new connection each time) until the answer is <paramref name="expected"/>;
    /// returns when the successful attempt started, measured by <paramref name="clock"/>. Fails after <paramref name="limit"/>.
    /// </summary>
    private async Task<TimeSpan> WaitForAnswerAsync(string? user, string expected, TimeSpan limit, SharedAgent agent, Stopwatch? clock = null)
    {
        clock ??= Stopwatch.StartNew();
        while (true)
        {
            var started = clock.Elapsed;
            var answer = await CurlAsync(user);
            if (answer == expected)
            {
                return started;
            }

            Assert.True(clock.Elapsed < limit, $"no '{expected.TrimEnd()}' within {limit.TotalSeconds:0.#} s (user {user ?? "none"}); last answer: {answer}\nagent: {agent.ErrorOutput}");
            await Task.Delay(50);
        }
    }

    /// <summary>One GET with a new connection from the client pod, with <c>X-Dev-User: USER</c> when given; the body, or curl's error.</summary>
    private async Task<string> CurlAsync(string? user)
    {
        string[] header = user is null ? [] : ["-H", $"X-Dev-User: {user}"];
        var result = await cluster.Client.ExecInNetworkAsync(["curl", "-sS", "--connect-timeout", "2", "-m", "4", .. header, Url], CancellationToken.None);
        return result.Succeeded ? result.StandardOutput : $"(curl failed: {result.StandardError.Trim()})";
    }

    /// <summary>wrk from the client pod: one thread, 8 keep-alive connections, for <paramref name="seconds"/> s.</summary>
    private async Task<WrkReport> WrkAsync(int seconds, string? user)
    {
        await Task.Yield();
        string[] header = user is null ? [] : ["-H", $"X-Dev-User: {user}"];
        var result = await cluster.Client.ExecInNetworkAsync(
            ["wrk", "-t1", "-c8", $"-d{seconds}s", "--timeout", "5s", .. header, Url], CancellationToken.None);
        return WrkReport.Parse(result.EnsureSuccess("wrk").StandardOutput);
    }

    private async Task<string> RulesetAsync()
        => (await cluster.Backend.ExecInNetworkAsync(["nft", "list", "ruleset"], CancellationToken.None)).EnsureSuccess("nft list ruleset").StandardOutput;

    /// <summary>The developers' apps outlive a SIGKILLed doppel: ended here, by the PIDs they printed.</summary>
    private static void KillApps(List<int> pids)
    {
        foreach (var pid in pids)
        {
            try
            {
                using var process = Process.GetProcessById(pid);
                process.Kill();
            }
            catch (ArgumentException)
            {
                // Already gone.
            }
        }
    }
}
