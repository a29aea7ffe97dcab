using System.Globalization;
using Doppel.Testing;

namespace Doppel.Bench;

/// <summary>
/// Figures 8–10 (<c>--p6</c>): incoming traffic through the agent, each next to the direct path
/// in the same round. A round first loads the pod's app with no session (pass-through's direct),
/// then starts a whole-port mirror session of 80 and loads the pod again (mirror; its direct is
/// pass-through's), counting the copies its local app received and those the session reports
/// dropped; then starts session dev0 (filtered steal of 80 and 81) and loads: its local app directly
/// (steal's direct), the pod with <c>X-Dev-User: dev0</c> (steal) and unmarked (pass-through),
/// over HTTP/1.1 (wrk) and h2c (h2load); then ends the session. Figure 10 reads the agent's memory
/// with 0, 1 and 10 sessions subscribed, each with its own filter. Each round records the 1-minute
/// load average at its start (the machine is shared).
/// </summary>
internal static class IncomingFigures
{
    /// <summary>Sessions subscribed for figure 10.</summary>
    private const int ManySessions = 10;

    public static async Task RunAsync(string header, Launcher? doppel, string workDirectory, IncomingSettings settings, TextWriter output, CancellationToken cancellationToken)
    {
        if (!Environment.IsPrivilegedProcess)
        {
            throw new BenchException("--p6 starts a mini-cluster of network namespaces and a doppel-agent, which need root: run the bench as root.");
        }

        if (doppel is null || !File.Exists(Path.Combine(Path.GetDirectoryName(doppel.Path)!, "doppel-agent")))
        {
            throw new BenchException("--p6 runs artifacts/doppel and artifacts/doppel-agent, and one is missing: run scripts/build.sh first.");
        }

        await output.WriteLineAsync(header);
        await output.WriteLineAsync(
            $"steal = client pod → backend:80/81 with X-Dev-User: dev0 → nft redirect → doppel-agent → session ({doppel.Path} exec, DOPPEL_AGENT_SOCKET) → node p6app.js on 127.0.0.1 in the developer netns; " +
            "its direct = the same load from the developer netns to that app. pass-through = the same load unmarked → agent → the pod's node p6app.js; " +
            "its direct = the same load with no session (no redirect). " +
            "mirror = the same load unmarked while a whole-port mirror session (doppel exec -v, incoming.mode mirror) copies port 80 to its node p6app.js; its direct = pass-through's. " +
            $"HTTP/1.1: wrk -t1 -c{settings.Connections} -d{settings.Seconds}s --latency; h2c: h2load -t1 -c{settings.Connections / 4} -m10 -D{settings.Seconds}.");
        await output.WriteLineAsync();

        var rig = await IncomingRig.StartAsync(workDirectory, doppel, cancellationToken);
        try
        {
            await output.WriteLineAsync((await RunLoadAsync(rig, settings, cancellationToken)).ToString());
            await output.WriteLineAsync((await AgentMemoryAsync(rig, cancellationToken)).ToString());
            await output.WriteLineAsync($"load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]} at the end");
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

    private static async Task<string> RunLoadAsync(IncomingRig rig, IncomingSettings settings, CancellationToken cancellationToken)
    {
        var (seconds, connections) = (settings.Seconds, settings.Connections);
        var h1 = new Dictionary<string, List<WrkReport>>(StringComparer.Ordinal);
        var h2 = new Dictionary<string, List<H2loadReport>>(StringComparer.Ordinal);
        var loads = new List<string>();
        var cpu = new Dictionary<string, List<(double Agent, double Session)>>(StringComparer.Ordinal);
        var copies = new Table(
            "8b. Mirror copies at load (whole-port mirror of :80, per round)",
            1, "round", "load avg", "wrk requests", "wrk rps", "copies received by the local app", "copies dropped (session -v)", "target");
        for (var round = 0; round < settings.Rounds; round++)
        {
            var load = LoadAverage();
            loads.Add(load);
            Add(h1, "pass direct", await rig.WrkAsync(rig.PodUrl(false), null, false, seconds, connections, cancellationToken));
            Add(h2, "pass direct", await rig.H2loadAsync(rig.PodUrl(true), null, false, seconds, connections / 4, cancellationToken));
            var mirror = await rig.StartMirrorSessionAsync(0, cancellationToken);
            WrkReport mirrored;
            try
            {
                var (before, mirrorBefore) = (ProcessMemory.CpuMicroseconds(rig.Agent.Pid), ProcessMemory.CpuMicroseconds(mirror.Pid));
                mirrored = await rig.WrkAsync(rig.PodUrl(false), null, false, seconds, connections, cancellationToken);
                Add(h1, "mirror", mirrored);
                AddCpu(cpu, "HTTP/1.1 whole-port mirror", rig.Agent.Pid, before, mirror.Pid, mirrorBefore, mirrored.Requests);
            }
            catch
            {
                await mirror.DisposeAsync();
                throw;
            }

            var count = await IncomingRig.StopMirrorSessionAsync(mirror, cancellationToken);
            copies.Add(
                $"{round + 1}", load, $"{mirrored.Requests}", Format.Number(mirrored.RequestsPerSecond, 0),
                $"{count.Received} ({(count.Received * 100.0 / mirrored.Requests).ToString("F1", CultureInfo.InvariantCulture)}%)", $"{count.Dropped}", "0 dropped");
            var session = await rig.StartSessionAsync(0, cancellationToken);
            try
            {
                async Task<T> Measured<T>(string name, Func<Task<T>> run, Func<T, long> requests)
                {
                    var (agent, own) = (ProcessMemory.CpuMicroseconds(rig.Agent.Pid), ProcessMemory.CpuMicroseconds(session.Pid));
                    var report = await run();
                    AddCpu(cpu, name, rig.Agent.Pid, agent, session.Pid, own, requests(report));
                    return report;
                }

                Add(h1, "steal direct", await rig.WrkAsync(IncomingRig.LocalUrl(0, false), null, true, seconds, connections, cancellationToken));
                Add(h1, "steal", await Measured("HTTP/1.1 filtered steal", () => rig.WrkAsync(rig.PodUrl(false), "dev0", false, seconds, connections, cancellationToken), r => r.Requests));
                Add(h1, "pass", await Measured("HTTP/1.1 unmatched pass-through", () => rig.WrkAsync(rig.PodUrl(false), null, false, seconds, connections, cancellationToken), r => r.Requests));
                Add(h2, "steal direct", await rig.H2loadAsync(IncomingRig.LocalUrl(0, true), null, true, seconds, connections / 4, cancellationToken));
                Add(h2, "steal", await Measured("h2c filtered steal", () => rig.H2loadAsync(rig.PodUrl(true), "dev0", false, seconds, connections / 4, cancellationToken), r => r.Succeeded));
                Add(h2, "pass", await Measured("h2c unmatched pass-through", () => rig.H2loadAsync(rig.PodUrl(true), null, false, seconds, connections / 4, cancellationToken), r => r.Succeeded));
            }
            finally
            {
                await rig.StopSessionAsync(session, 0, cancellationToken);
            }
        }

        var wrk = new Table(
            $"8. HTTP/1.1 through the agent (wrk), requests/s and latency in ms (median of {settings.Rounds} rounds)",
            1, "path", "direct rps", "doppel rps", "ratio", "target", "direct p50", "doppel p50", "direct p99", "doppel p99", "p99 added");
        AddWrkRow(wrk, "filtered steal → local app", h1["steal direct"], h1["steal"], "≥ 0.50, +1 ms p99");
        AddWrkRow(wrk, "unmatched pass-through → pod's app", h1["pass direct"], h1["pass"], "≥ 0.70");
        AddWrkRow(wrk, "whole-port mirror (pod's app answers)", h1["pass direct"], h1["mirror"], "0 dropped (8b)");
        wrk.Footer = $"Every run: 0 socket errors, 0 non-2xx (a run with any fails the bench). Load average (1 min) at each round's start: {string.Join(", ", loads)}.";
        copies.Footer = "wrk counts the requests answered; up to one per connection more may have been sent (and copied) when it stopped. The session's app gets copies 1 s to settle before it counts.";

        var h2load = new Table(
            $"9. h2c through the agent (h2load), requests/s and mean request time in ms (median of {settings.Rounds} rounds)",
            1, "path", "direct rps", "doppel rps", "ratio", "target", "direct mean", "doppel mean", "mean added");
        AddH2Row(h2load, "filtered steal → local app", h2["steal direct"], h2["steal"], "≥ 0.50");
        AddH2Row(h2load, "unmatched pass-through → pod's app", h2["pass direct"], h2["pass"], "≥ 0.70");
        h2load.Footer = $"Every run: 0 failed requests. h2load prints no percentiles, so h2c has the mean only. Load average (1 min) at each round's start: {string.Join(", ", loads)}.";
        var perRequest = new Table(
            $"8c. CPU time per request through doppel, µs (median of {settings.Rounds} rounds): the agent's and the session's (doppel exec's own threads, not its app)",
            1, "path", "agent", "session", "together");
        foreach (var (name, samples) in cpu)
        {
            var (agent, session) = (Stats.Median(samples.Select(s => s.Agent).ToList()), Stats.Median(samples.Select(s => s.Session).ToList()));
            perRequest.Add(name, Format.Number(agent, 0), Format.Number(session, 0), Format.Number(agent + session, 0));
        }

        perRequest.Footer = "CPU time (/proc/PID/stat utime + stime, 10 ms ticks) used during the run divided by the requests answered: unlike requests/s it hardly depends on the share of the CPUs the other processes leave. " +
            "Pass-through's session column is dev0's idle cost (it takes none of those requests); the mirror's is the mirror session's.";
        return wrk + Environment.NewLine + copies + Environment.NewLine + perRequest + Environment.NewLine + h2load;
    }

    private static void AddCpu(Dictionary<string, List<(double Agent, double Session)>> cpu, string name, int agent, long agentBefore, int session, long sessionBefore, long requests)
    {
        var used = (Agent: ProcessMemory.CpuMicroseconds(agent) - agentBefore, Session: ProcessMemory.CpuMicroseconds(session) - sessionBefore);
        Add(cpu, name, (used.Agent / (double)Math.Max(requests, 1), used.Session / (double)Math.Max(requests, 1)));
    }

    /// <summary>Figure 10: the shared agent's VmRSS with no session, one, and ten (each its own filter), each after 0.5 s of rest.</summary>
    private static async Task<Table> AgentMemoryAsync(IncomingRig rig, CancellationToken cancellationToken)
    {
        var settle = TimeSpan.FromMilliseconds(500);
        await Task.Delay(settle, cancellationToken);
        var none = ProcessMemory.ResidentMebibytes(rig.Agent.Pid);
        var sessions = new List<DoppelExecProcess>();
        try
        {
            double one = 0;
            for (var index = 0; index < ManySessions; index++)
            {
                sessions.Add(await rig.StartSessionAsync(index, cancellationToken));
                if (index == 0)
                {
                    await Task.Delay(settle, cancellationToken);
                    one = ProcessMemory.ResidentMebibytes(rig.Agent.Pid);
                }
            }

            await Task.Delay(settle, cancellationToken);
            var many = ProcessMemory.ResidentMebibytes(rig.Agent.Pid);
            var table = new Table("10. doppel-agent resident memory (VmRSS), MiB, one agent shared by the sessions", 1, "sessions subscribed", "VmRSS", "vs none");
            table.Add($"none (after figures 8–9; load average {LoadAverage()})", Format.Number(none, 1), "");
            table.Add("1 (dev0: 80 and 81, filtered)", Format.Number(one, 1), Format.Signed(one - none, 1));
            table.Add($"{ManySessions} (dev0–dev{ManySessions - 1}, each its own filter)", Format.Number(many, 1), Format.Signed(many - none, 1));
            table.Footer = $"Each session was checked to get its own marked request; per extra session: {Format.Number((many - one) / (ManySessions - 1), 2)} MiB. No direct counterpart: without doppel there is no agent.";
            return table;
        }
        finally
        {
            foreach (var session in sessions)
            {
                await session.DisposeAsync();
            }
        }
    }

    private static string LoadAverage() => File.ReadAllText("/proc/loadavg").Split(' ')[0];

    private static void Add<T>(Dictionary<string, List<T>> samples, string key, T sample)
    {
        if (!samples.TryGetValue(key, out var list))
        {
            samples[key] = list = [];
        }

        list.Add(sample);
    }

    private static void AddWrkRow(Table table, string name, List<WrkReport> direct, List<WrkReport> doppel, string target)
    {
        var (directRps, doppelRps) = (Stats.Median(direct.Select(r => r.RequestsPerSecond).ToList()), Stats.Median(doppel.Select(r => r.RequestsPerSecond).ToList()));
        double Ms(List<WrkReport> reports, int percentile) => Stats.Median(reports.Select(r => r.LatencyPercentiles[percentile].TotalMilliseconds).ToList());
        table.Add(
            name,
            Format.Number(directRps, 0), Format.Number(doppelRps, 0), (doppelRps / directRps).ToString("F2", CultureInfo.InvariantCulture), target,
            Format.Number(Ms(direct, 50), 2), Format.Number(Ms(doppel, 50), 2), Format.Number(Ms(direct, 99), 2), Format.Number(Ms(doppel, 99), 2),
            Format.Signed(Ms(doppel, 99) - Ms(direct, 99), 2));
    }

    private static void AddH2Row(Table table, string name, List<H2loadReport> direct, List<H2loadReport> doppel, string target)
    {
        var (directRps, doppelRps) = (Stats.Median(direct.Select(r => r.RequestsPerSecond).ToList()), Stats.Median(doppel.Select(r => r.RequestsPerSecond).ToList()));
        var (directMean, doppelMean) = (Stats.Median(direct.Select(r => r.MeanMicroseconds / 1000).ToList()), Stats.Median(doppel.Select(r => r.MeanMicroseconds / 1000).ToList()));
        table.Add(
            name,
            Format.Number(directRps, 0), Format.Number(doppelRps, 0), (doppelRps / directRps).ToString("F2", CultureInfo.InvariantCulture), target,
            Format.Number(directMean, 2), Format.Number(doppelMean, 2), Format.Signed(doppelMean - directMean, 2));
    }
}

/// <summary>How much load the P6 figures (8–10) apply.</summary>
/// <param name="Rounds">Rounds of figures 8–9 (each: no session, then session dev0).</param>
/// <param name="Seconds">Seconds per wrk or h2load run.</param>
/// <param name="Connections">wrk's connections; h2load opens a quarter of them with 10 streams each.</param>
internal sealed record IncomingSettings(int Rounds, int Seconds, int Connections)
{
    public static IncomingSettings Full { get; } = new(Rounds: 3, Seconds: 5, Connections: 16);

    public static IncomingSettings Quick { get; } = new(Rounds: 1, Seconds: 2, Connections: 16);
}
