using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Doppel.EndToEnd.Tests.Support;
using Doppel.Testing;

namespace Doppel.EndToEnd.Tests.Incoming;

/// <summary>
/// Who is on a target (issue 12 items 4 and 5), with alice's and bob's sessions of
/// <see cref="MultiDeveloperFixture"/> on one local agent: <c>doppel status</c> lists both with
/// their filters (text and JSON), bob's <c>doppel exec</c> named alice when it joined, and a
/// session killed with SIGKILL is dropped by the agent within 5 s, its requests going to the pod's app.
/// </summary>
[Collection(IncomingCollection.Name)]
public sealed class StatusTests(MultiDeveloperFixture fixture) : IClassFixture<MultiDeveloperFixture>
{
    private IncomingFixture Cluster => fixture.Cluster;

    private string Target => $"pid/{Cluster.Web.Pid.ToString(CultureInfo.InvariantCulture)}";

    [Fact]
    public async Task StatusListsAliceAndBobWithTheirFilters()
    {
        var (exit, stdout, stderr) = await StatusAsync(["--local", "-t", Target]);

        Assert.True(exit == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(", 2 sessions", lines[0], StringComparison.Ordinal);
        Assert.Matches(@"^  alice@\S+  steal 80, \^X-Dev-User: alice\$  since \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ  \d+ requests?, 0 connections$", lines[1]);
        Assert.Matches(@"^  bob@\S+  steal 80, \^X-Dev-User: bob\$  since .*Z  \d+ requests?, 0 connections$", lines[2]);
    }

    [Fact]
    public async Task StatusAsJsonHasEachSessionsUserFilterAndRequests()
    {
        var (exit, stdout, stderr) = await StatusAsync(["--local", "-t", Target, "-o", "json"]);

        Assert.True(exit == 0, stderr);
        var agent = Assert.Single(JsonNode.Parse(stdout)!["agents"]!.AsArray())!;
        Assert.Null(agent["error"]);
        var sessions = agent["sessions"]!.AsArray();
        Assert.Equal(["alice", "bob"], sessions.Select(s => s!["user"]!.GetValue<string>()));
        foreach (var session in sessions)
        {
            var user = session!["user"]!.GetValue<string>();
            var subscription = Assert.Single(session["subscriptions"]!.AsArray())!;
            Assert.Equal(80, subscription["port"]!.GetValue<int>());
            Assert.Equal("steal", subscription["mode"]!.GetValue<string>());
            Assert.Equal($"^X-Dev-User: {user}$", subscription["filter"]!.GetValue<string>());
            Assert.True(session["requests"]!.GetValue<ulong>() >= 1, $"{user}'s ready request was routed to {user}");
        }
    }

    [Fact]
    public void BobsSessionNamedAliceWhenItJoined()
    {
        Assert.Matches($@"1 other session on {Target}: alice@\S+ \(steal 80, \^X-Dev-User: alice\$\)", fixture.Bob.SoFar.Stderr);
        Assert.DoesNotContain("other session", fixture.Alice.SoFar.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task APortForwardThatJoinsTheirAgentNamesAliceAndBob()
    {
        await using var forward = DoppelExecProcess.Start(
            RepoPaths.Doppel, Cluster.AliceNamespace, ["-t", Target, "-L", "18080:127.0.0.1:80"], Cluster.WorkDirectory, subcommand: "port-forward");
        await PortForward.PortForwardFixture.WaitForStderrAsync(forward, "port-forward ready; Ctrl+C stops it.");

        Assert.Matches(
            $@"2 other sessions on {Target}: alice@\S+ \(steal 80, \^X-Dev-User: alice\$\), bob@\S+ \(steal 80, \^X-Dev-User: bob\$\)",
            forward.SoFar.Stderr);
    }

    [Fact]
    public async Task ASessionKilledWithSigkillIsDroppedWithinFiveSecondsAndItsRequestsGoToThePodsApp()
    {
        // carol runs on a third machine (port 80 is taken by alice's and bob's apps on theirs).
        var machine = $"{Cluster.Cluster.Prefix}-dev3";
        await RunAsync(["ip", "netns", "add", machine]);
        var programs = new List<int>();
        try
        {
            await RunAsync(["ip", "-n", machine, "link", "set", "lo", "up"]);
            await using var carol = await Cluster.StartAppAsync("carol", machine, IncomingFixture.SeedConfig);
            await Cluster.WaitUntilRoutedAsync("carol", "-H", "X-Dev-User: carol", Cluster.WebUrl + "/ready");
            Assert.Contains("carol", await UsersAsync());

            // SIGKILL doppel alone, as the kernel would end it: it unsubscribes nothing. Its program
            // (reparented) is ended after the check, by the PIDs found before.
            programs.AddRange(Descendants(carol.Pid));
            var killed = Stopwatch.StartNew();
            Process.GetProcessById(carol.Pid).Kill(entireProcessTree: false);
            while ((await UsersAsync()).Contains("carol"))
            {
                Assert.True(killed.Elapsed < TimeSpan.FromSeconds(5), "the agent still lists carol's session 5 s after her doppel was killed (issue 12 item 5)");
                await Task.Delay(100);
            }

            var answer = await Cluster.CurlAsync(["-H", "X-Dev-User: carol", Cluster.WebUrl + "/after"]);
            Assert.Equal("pod 1.1 GET /after\n", answer.StandardOutput);
            Assert.Equal(["alice", "bob"], await UsersAsync());
        }
        finally
        {
            foreach (var pid in programs)
            {
                try
                {
                    Process.GetProcessById(pid).Kill();
                }
                catch (ArgumentException)
                {
                    // already gone
                }
            }

            await RunAsync(["ip", "netns", "delete", machine]);
        }
    }

    private async Task<List<string>> UsersAsync()
    {
        var (exit, stdout, stderr) = await StatusAsync(["--local", "-t", Target, "-o", "json"]);
        Assert.True(exit == 0, stderr);
        return [.. JsonNode.Parse(stdout)!["agents"]!.AsArray().SelectMany(a => a!["sessions"]!.AsArray()).Select(s => s!["user"]!.GetValue<string>())];
    }

    // The PIDs below pid, from /proc/PID/task/TID/children.
    private static List<int> Descendants(int pid)
    {
        var found = new List<int>();
        var next = new Queue<int>([pid]);
        while (next.TryDequeue(out var parent))
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{parent}/task"))
            {
                var children = File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries);
                foreach (var child in children.Select(c => int.Parse(c, CultureInfo.InvariantCulture)))
                {
                    found.Add(child);
                    next.Enqueue(child);
                }
            }
        }

        return found;
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> StatusAsync(IReadOnlyList<string> arguments)
    {
        var info = new ProcessStartInfo(RepoPaths.Doppel) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("status");
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("doppel could not be started.");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    private static async Task RunAsync(IReadOnlyList<string> command)
    {
        var info = new ProcessStartInfo(command[0]) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in command.Skip(1))
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{command[0]} could not be started.");
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{string.Join(' ', command)} failed: {await stderr}");
    }
}
