using System.Globalization;
using System.Text.RegularExpressions;
using Doppel.Testing;

namespace Doppel.Bench;

/// <summary>
/// The mini-cluster of the P6 figures (8–10), one shared agent, and the load generators:
/// <code>
///  developer netns (lo only)                          pod network 10.244.0.0/24
///  ┌─────────────────────────────────────────────┐    ┌─────────────────────────────────────────┐
///  │ doppel exec -f devN.json -t pid/POD --      │    │ backend (process pod): p6app.js pod     │
///  │   node p6app.js devN 8000+2N 8001+2N        │◄───┤   :80 HTTP/1.1, :81 h2c                 │
///  │   (DOPPEL_AGENT_SOCKET → the shared agent)  │    │   nft redirect → doppel-agent (shared)  │
///  │ wrk / h2load → 127.0.0.1:8000 (direct)      │    │ client: wrk / h2load → backend:80, :81  │
///  └─────────────────────────────────────────────┘    └─────────────────────────────────────────┘
/// </code>
/// Session N steals the pod's ports 80 and 81 with the filter <c>^X-Dev-User: devN$</c> and
/// replays its requests to its own node app; unmarked requests pass through the agent to the pod's app.
/// </summary>
internal sealed partial class IncomingRig : IAsyncDisposable
{
    public const int PodH1Port = 80;
    public const int PodH2cPort = 81;

    private static readonly TimeSpan s_runTimeout = TimeSpan.FromSeconds(120);

    private readonly MiniCluster _cluster;
    private readonly Launcher _doppel;
    private readonly string _workDirectory;

    private IncomingRig(MiniCluster cluster, Launcher doppel, SharedAgent agent, string workDirectory)
    {
        _cluster = cluster;
        _doppel = doppel;
        Agent = agent;
        _workDirectory = workDirectory;
    }

    /// <summary>The agent every session joins (its own process, so its memory is the agent's alone).</summary>
    public SharedAgent Agent { get; }

    public IReadOnlyList<string> CleanupFailures => _cluster.CleanupFailures;

    private static string App => Path.Combine(AppContext.BaseDirectory, "native", "p6app.js");

    private Pod Backend => _cluster["backend"];

    private Pod Client => _cluster["client"];

    /// <summary>The URL of the pod's app (<paramref name="h2c"/>: port 81, else 80), as the client pod reaches it.</summary>
    public string PodUrl(bool h2c) => $"http://{Backend.IP}:{(h2c ? PodH2cPort : PodH1Port)}/";

    /// <summary>The URL of session <paramref name="index"/>'s local app, as the developer netns reaches it.</summary>
    public static string LocalUrl(int index, bool h2c) => $"http://127.0.0.1:{LocalPort(index, h2c)}/";

    /// <summary>Starts the cluster (the pod's app is node p6app.js) and the shared agent; torn down if anything fails.</summary>
    public static async Task<IncomingRig> StartAsync(string workDirectory, Launcher doppel, CancellationToken cancellationToken)
    {
        var cluster = await MiniCluster.StartAsync(new MiniClusterOptions
        {
            Pods =
            {
                new PodSpec("backend") { Servers = { PodServer.Run("p6app", ["node", App, "pod", $"{PodH1Port}", $"{PodH2cPort}"], PodH1Port) } },
                new PodSpec("client"),
            },
        }, cancellationToken);
        try
        {
            var agentPath = Path.Combine(Path.GetDirectoryName(doppel.Path)!, "doppel-agent");
            var agent = await SharedAgent.StartAsync(agentPath, cluster["backend"].Pid, null, cancellationToken, logLevel: "warn");
            return new IncomingRig(cluster, doppel, agent, workDirectory);
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Starts session <paramref name="index"/> (<c>doppel exec</c> of node p6app.js devN, filtered
    /// steal of 80 and 81) and waits until a marked request from the client pod reaches its app.
    /// </summary>
    public async Task<DoppelExecProcess> StartSessionAsync(int index, CancellationToken cancellationToken)
    {
        var user = User(index);
        var config = Path.Combine(_workDirectory, user + ".json");
        await File.WriteAllTextAsync(config, string.Create(CultureInfo.InvariantCulture, $$"""
            { "feature": { "network": { "incoming": {
              "mode": "steal",
              "port_mapping": [[{{LocalPort(index, false)}}, {{PodH1Port}}], [{{LocalPort(index, true)}}, {{PodH2cPort}}]],
              "http_filter": { "header_filter": "^X-Dev-User: {{user}}$" } } } } }
            """), cancellationToken);
        var session = DoppelExecProcess.Start(
            _doppel.Path,
            _cluster.Developer.Name,
            ["-f", config, "-t", $"pid/{Backend.Pid}", "--", "node", App, user, $"{LocalPort(index, false)}", $"{LocalPort(index, true)}"],
            _workDirectory,
            Agent.SessionEnvironment(user));
        try
        {
            var line = await session.ReadLineAsync(s_runTimeout, cancellationToken);
            if (line is null || !line.StartsWith("listening ", StringComparison.Ordinal))
            {
                throw new BenchException($"session {user} did not start: '{line}' {await session.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken)}");
            }

            await WaitForAnswerAsync(user, user + "\n", cancellationToken);
            return session;
        }
        catch
        {
            await session.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Starts session <paramref name="index"/> as a whole-port mirror of 80 and 81 (<c>doppel exec -v</c>
    /// of node p6app.js devN ... count) and waits until a copy of a request for <c>/ready</c> from the
    /// client pod reaches its app. End it with <see cref="StopMirrorSessionAsync"/>.
    /// </summary>
    public async Task<DoppelExecProcess> StartMirrorSessionAsync(int index, CancellationToken cancellationToken)
    {
        var user = User(index);
        var config = Path.Combine(_workDirectory, user + "-mirror.json");
        await File.WriteAllTextAsync(config, string.Create(CultureInfo.InvariantCulture, $$"""
            { "feature": { "network": { "incoming": {
              "mode": "mirror",
              "port_mapping": [[{{LocalPort(index, false)}}, {{PodH1Port}}], [{{LocalPort(index, true)}}, {{PodH2cPort}}]] } } } }
            """), cancellationToken);
        var session = DoppelExecProcess.Start(
            _doppel.Path,
            _cluster.Developer.Name,
            ["-v", "-f", config, "-t", $"pid/{Backend.Pid}", "--", "node", App, user, $"{LocalPort(index, false)}", $"{LocalPort(index, true)}", "count"],
            _workDirectory,
            Agent.SessionEnvironment(user),
            keepStdinOpen: true);
        try
        {
            var line = await session.ReadLineAsync(s_runTimeout, cancellationToken);
            if (line is null || !line.StartsWith("listening ", StringComparison.Ordinal))
            {
                throw new BenchException($"mirror session {user} did not start: '{line}' {await session.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken)}");
            }

            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (true)
            {
                await Client.ExecInNetworkAsync(["curl", "-sS", "-m", "5", PodUrl(h2c: false) + "ready"], cancellationToken);
                try
                {
                    var copy = await session.ReadLineAsync(TimeSpan.FromMilliseconds(500), cancellationToken);
                    if (copy == "mirrored")
                    {
                        return session;
                    }

                    if (copy is null)
                    {
                        throw new BenchException($"mirror session {user} ended: {await session.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken)}");
                    }
                }
                catch (TimeoutException) when (DateTime.UtcNow < deadline)
                {
                    // No copy yet: the subscription is still being made.
                }
            }
        }
        catch
        {
            await session.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Ends a mirror session from <see cref="StartMirrorSessionAsync"/> after 1 s for late copies:
    /// its app prints how many requests it got, and doppel (<c>-v</c>) how many copies were dropped.
    /// </summary>
    public static async Task<MirrorCount> StopMirrorSessionAsync(DoppelExecProcess session, CancellationToken cancellationToken)
    {
        await using (session)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            await session.WriteLineAsync("exit");
            var result = await session.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
            var received = Received().Match(result.Stdout);
            if (!received.Success)
            {
                throw new BenchException($"the mirror session's app printed no count: {result}");
            }

            var dropped = Dropped().Match(result.Stderr);
            return new MirrorCount(
                long.Parse(received.Groups[1].Value, CultureInfo.InvariantCulture),
                dropped.Success ? long.Parse(dropped.Groups[1].Value, CultureInfo.InvariantCulture) : 0);
        }
    }

    /// <summary>Ends a session (doppel and its app, by PID) and waits until session <paramref name="index"/>'s requests reach the pod's app again.</summary>
    public async Task StopSessionAsync(DoppelExecProcess session, int index, CancellationToken cancellationToken)
    {
        await session.DisposeAsync();
        await WaitForAnswerAsync(User(index), "pod\n", cancellationToken);
    }

    /// <summary>wrk with a latency distribution: from the client pod to <paramref name="url"/>, or from the developer netns with <paramref name="fromDeveloper"/>.</summary>
    public async Task<WrkReport> WrkAsync(string url, string? user, bool fromDeveloper, int seconds, int connections, CancellationToken cancellationToken)
    {
        string[] header = user is null ? [] : ["-H", $"X-Dev-User: {user}"];
        string[] command = ["wrk", "-t1", $"-c{connections}", $"-d{seconds}s", "--latency", "--timeout", "5s", .. header, url];
        var output = await RunAsync(command, fromDeveloper, cancellationToken);
        var report = WrkReport.Parse(output);
        return report.Failures == 0 ? report : throw new BenchException($"{string.Join(' ', command)} had {report.Failures} failed requests:\n{output}");
    }

    /// <summary>h2load over h2c (prior knowledge), <paramref name="connections"/> × 10 streams, for <paramref name="seconds"/> s.</summary>
    public async Task<H2loadReport> H2loadAsync(string url, string? user, bool fromDeveloper, int seconds, int connections, CancellationToken cancellationToken)
    {
        string[] header = user is null ? [] : ["-H", $"X-Dev-User: {user}"];
        string[] command = ["h2load", "-t1", $"-c{connections}", "-m10", $"-D{seconds}", .. header, url];
        var output = await RunAsync(command, fromDeveloper, cancellationToken);
        var report = H2loadReport.Parse(output);
        return report.Failed == 0 ? report : throw new BenchException($"{string.Join(' ', command)} had {report.Failed} failed requests:\n{output}");
    }

    public async ValueTask DisposeAsync()
    {
        await Agent.DisposeAsync();
        await _cluster.DisposeAsync();
    }

    private static string User(int index) => string.Create(CultureInfo.InvariantCulture, $"dev{index}");

    private static int LocalPort(int index, bool h2c) => 8000 + (2 * index) + (h2c ? 1 : 0);

    private async Task<string> RunAsync(IReadOnlyList<string> command, bool fromDeveloper, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(s_runTimeout);
        if (fromDeveloper)
        {
            return (await Runs.DirectAsync("ip", ["netns", "exec", _cluster.Developer.Name, .. command], timeout.Token)).Stdout;
        }

        return (await Client.ExecInNetworkAsync(command, timeout.Token)).EnsureSuccess(command[0]).StandardOutput;
    }

    [GeneratedRegex(@"^received (\d+)$", RegexOptions.Multiline)]
    private static partial Regex Received();

    // docs/cli.md: "incoming: mirror :80: 3 copies dropped (1048576 bytes)", with -v at exit.
    [GeneratedRegex(@"mirror :80: (\d+) cop(?:y|ies) dropped")]
    private static partial Regex Dropped();

    /// <summary>Polls with curl from the client pod (HTTP/1.1 port, marked for <paramref name="user"/>) until the answer is <paramref name="expected"/>, for up to 60 s.</summary>
    private async Task WaitForAnswerAsync(string user, string expected, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        var answer = "";
        while (DateTime.UtcNow < deadline)
        {
            var result = await Client.ExecInNetworkAsync(["curl", "-sS", "-m", "5", "-H", $"X-Dev-User: {user}", PodUrl(h2c: false)], cancellationToken);
            answer = result.StandardOutput + result.StandardError;
            if (result.StandardOutput == expected)
            {
                return;
            }

            await Task.Delay(100, cancellationToken);
        }

        throw new BenchException($"requests marked for {user} never got '{expected.Trim()}'; last answer: {answer}\nagent: {Agent.ErrorOutput}");
    }
}

/// <summary>What a mirror session of port 80 saw: requests its app received (copies), and copies the session reported dropped.</summary>
internal sealed record MirrorCount(long Received, long Dropped);

/// <summary>What one h2load run printed: <c>finished in 5.00s, 957.95 req/s, ...</c>, the failed count and the mean request time.</summary>
/// <param name="RequestsPerSecond">h2load's req/s.</param>
/// <param name="Succeeded">Requests answered with 2xx (h2load's "succeeded").</param>
/// <param name="Failed">h2load's "failed" (errored and timed-out included).</param>
/// <param name="MeanMicroseconds">The mean of "time for request" (h2load prints no percentiles).</param>
internal sealed partial record H2loadReport(double RequestsPerSecond, long Succeeded, long Failed, double MeanMicroseconds)
{
    /// <summary>Reads h2load's output; throws <see cref="BenchException"/> with it when a line is missing.</summary>
    public static H2loadReport Parse(string output)
    {
        var finished = Finished().Match(output);
        var requests = Requests().Match(output);
        var time = RequestTime().Match(output);
        if (!finished.Success || !requests.Success || !time.Success)
        {
            throw new BenchException($"h2load printed no rate, request count or request time: {output}");
        }

        return new H2loadReport(
            double.Parse(finished.Groups[1].Value, CultureInfo.InvariantCulture),
            long.Parse(requests.Groups[1].Value, CultureInfo.InvariantCulture),
            long.Parse(requests.Groups[2].Value, CultureInfo.InvariantCulture),
            Microseconds(time.Groups[1].Value, time.Groups[2].Value));
    }

    private static double Microseconds(string number, string unit)
    {
        var value = double.Parse(number, CultureInfo.InvariantCulture);
        return unit switch
        {
            "us" => value,
            "ms" => value * 1_000,
            "s" => value * 1_000_000,
            _ => throw new BenchException($"h2load time unit '{unit}' is unknown."),
        };
    }

    [GeneratedRegex(@"finished in [\d.]+m?s, ([\d.]+) req/s")]
    private static partial Regex Finished();

    [GeneratedRegex(@"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed")]
    private static partial Regex Requests();

    // "time for request:   611us   770.75ms   79.94ms   66.20ms   89.30%": min, max, then the mean.
    [GeneratedRegex(@"time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)\s")]
    private static partial Regex RequestTime();
}
