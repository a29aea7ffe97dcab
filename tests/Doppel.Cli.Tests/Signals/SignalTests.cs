using System.Text.RegularExpressions;
using Doppel.Cli.Tests.Support;

namespace Doppel.Cli.Tests.Signals;

/// <summary>
/// Ctrl+C and signals through the real binaries (docs/cli.md, "Ctrl+C and signals"): a signal reaches
/// the program once, doppel keeps serving it until it exits and passes its exit code through; a second
/// Ctrl+C stops it now; a program that ignores SIGTERM is killed 10 s later; the agent never sees Ctrl+C.
/// </summary>
public sealed partial class SignalTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private static readonly Dictionary<string, string> NoVariables = [];

    public static TheoryData<string> Binaries => DoppelBinaries.All;

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task CtrlCReachesAShellOnceAndItsTrapDecidesTheExitCode(string binary)
    {
        // Counts the INTs it gets until a second after the first, then exits 7.
        const string Script = "n=0; trap 'n=$((n+1))' INT; echo program-ready; while [ $n -eq 0 ]; do sleep 0.1; done; sleep 1; echo \"got $n INT\"; exit 7";
        await using var run = DoppelRun.OnTerminal(binary, NoVariables, "exec", "--", "sh", "-c", Script);
        await run.WaitForAsync("program-ready", Timeout);

        await run.PressCtrlCAsync();
        var code = await run.WaitForExitAsync(Timeout);

        Assert.True(code == 7, $"exit code {code}\n{run.Output}");
        Assert.Contains("got 1 INT", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("failed unexpectedly", run.Output, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task CtrlCLetsAPythonMasterStopAndReapItsWorkers(string binary)
    {
        await using var run = DoppelRun.OnTerminal(binary, NoVariables, "exec", "--", "python3", "-c", PythonMaster);
        var workers = await WorkersAsync(run);

        await run.PressCtrlCAsync();
        var code = await run.WaitForExitAsync(Timeout);

        Assert.True(code == 0, $"exit code {code}\n{run.Output}");
        Assert.Contains("reaped 3 workers after SIGINT (1 signal)", run.Output, StringComparison.Ordinal);
        foreach (var worker in workers)
        {
            Assert.False(DoppelRun.IsRunning(worker), $"worker {worker} still runs\n{run.Output}");
        }
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task SigtermToDoppelLetsAPythonMasterStopAndReapItsWorkers(string binary)
    {
        await using var run = DoppelRun.WithoutTerminal(binary, NoVariables, "exec", "--", "python3", "-c", PythonMaster);
        var workers = await WorkersAsync(run);

        Kill(await run.DoppelPidAsync(), "TERM");
        var code = await run.WaitForExitAsync(Timeout);

        Assert.True(code == 0, $"exit code {code}\n{run.Output}");
        Assert.Contains("reaped 3 workers after SIGTERM (1 signal)", run.Output, StringComparison.Ordinal);
        foreach (var worker in workers)
        {
            Assert.False(DoppelRun.IsRunning(worker), $"worker {worker} still runs\n{run.Output}");
        }
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task CtrlCReachesANodeHandlerOnce(string binary)
    {
        const string Script = """
            let count = 0;
            process.on('SIGINT', () => { count++; setTimeout(() => { console.log(`node got ${count} SIGINT`); process.exit(5); }, 1000); });
            console.log('program-ready');
            setInterval(() => {}, 1000);
            """;
        await using var run = DoppelRun.OnTerminal(binary, NoVariables, "exec", "--", "node", "-e", Script);
        await run.WaitForAsync("program-ready", Timeout);

        await run.PressCtrlCAsync();
        var code = await run.WaitForExitAsync(Timeout);

        Assert.True(code == 5, $"exit code {code}\n{run.Output}");
        Assert.Contains("node got 1 SIGINT", run.Output, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(SignalsFromKill))]
    public async Task ASignalFromKillReachesTheProgramOnceAndItsExitCodePassesThrough(string binary, string signal)
    {
        var script = $"n=0; trap 'n=$((n+1))' {signal}; echo program-ready; while [ $n -eq 0 ]; do sleep 0.1; done; sleep 1; echo \"got $n {signal}\"; exit 9";
        await using var run = DoppelRun.WithoutTerminal(binary, NoVariables, "exec", "--", "sh", "-c", script);
        await run.WaitForAsync("program-ready", Timeout);

        Kill(await run.DoppelPidAsync(), signal);
        var code = await run.WaitForExitAsync(Timeout);

        Assert.True(code == 9, $"exit code {code}\n{run.Output}");
        Assert.Contains($"got 1 {signal}", run.Output, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> SignalsFromKill()
    {
        var data = new TheoryData<string, string>();
        foreach (var binary in DoppelBinaries.All)
        {
            foreach (var signal in new[] { "TERM", "INT", "HUP" })
            {
                data.Add(binary, signal);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task ASecondCtrlCStopsTheProgramAndItsChildrenAndExits130(string binary)
    {
        // The shell ignores Ctrl+C (trap '' INT), as does its child: doppel says how to stop them.
        const string Script = "trap '' INT; sh -c 'exec sleep 1000' & echo \"child $!\"; echo program-ready; while :; do sleep 0.2; done";
        await using var run = DoppelRun.OnTerminal(binary, NoVariables, "exec", "--", "sh", "-c", Script);
        await run.WaitForAsync("program-ready", Timeout);
        var child = int.Parse(ChildPid().Match(run.Output).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        run.AlsoKillAtTheEnd(child);

        await run.PressCtrlCAsync();
        await run.WaitForAsync("press Ctrl+C again within 2 s to stop it now", Timeout);
        Assert.True(DoppelRun.IsRunning(child), $"the first Ctrl+C already stopped the child\n{run.Output}");
        await run.PressCtrlCAsync();
        var code = await run.WaitForExitAsync(Timeout);

        Assert.True(code == ExitCodes.Interrupted, $"exit code {code}\n{run.Output}");
        Assert.Contains("doppel: stopped 'sh' (pid", run.Output, StringComparison.Ordinal);
        Assert.True(await DoppelRun.HasExitedAsync(child), $"the program's child {child} still runs\n{run.Output}");
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task AReplLikeProgramThatCatchesCtrlCIsLeftAloneAndExitsWithItsCode(string binary)
    {
        // Like python3 -q: each Ctrl+C interrupts the current line only; it exits on its own after the second.
        const string Repl = """
            import sys, time
            n = 0
            print("program-ready", flush=True)
            while n < 2:
                try:
                    time.sleep(100)
                except KeyboardInterrupt:
                    n += 1
                    print(f"KeyboardInterrupt {n}", flush=True)
            sys.exit(6)
            """;
        await using var run = DoppelRun.OnTerminal(binary, NoVariables, "exec", "--", "python3", "-c", Repl);
        await run.WaitForAsync("program-ready", Timeout);

        await run.PressCtrlCAsync();
        await run.WaitForAsync("KeyboardInterrupt 1", Timeout);
        await run.PressCtrlCAsync();
        var code = await run.WaitForExitAsync(Timeout);

        Assert.True(code == 6, $"exit code {code}\n{run.Output}");
        Assert.Contains("KeyboardInterrupt 2", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("doppel: waiting for", run.Output, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task AProgramWhoseSigintHandlerEndsItGetsNoWaitingLine(string binary)
    {
        // The new-user tryout's program: its handler prints and exits 0 at the first Ctrl+C.
        const string Program = "import signal, time\nsignal.signal(signal.SIGINT, lambda *a: print('bye', flush=True) or exit(0))\nprint('program-ready', flush=True)\ntime.sleep(60)\n";
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            await using var run = DoppelRun.OnTerminal(binary, AgentEnvironment(), "exec", "-t", "targetless", "--", "python3", "-c", Program);
            await run.WaitForAsync("program-ready", Timeout);

            await run.PressCtrlCAsync();
            var code = await run.WaitForExitAsync(Timeout);

            Assert.True(code == 0, $"attempt {attempt}: exit code {code}\n{run.Output}");
            Assert.Contains("bye", run.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("doppel: waiting for", run.Output, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task AShellWhoseTrapCatchesCtrlCIsLeftAloneEveryTime(string binary)
    {
        // dash blocks every signal for a moment around its wait for `sleep 0.1` and while its handler
        // runs: whether it catches SIGINT must not depend on that instant. Repeated to catch the race.
        const string Script = "trap 'echo got INT; sleep 1.5; exit 7' INT; echo program-ready; while :; do sleep 0.1; done";
        for (var attempt = 1; attempt <= 6; attempt++)
        {
            await using var run = DoppelRun.OnTerminal(binary, NoVariables, "exec", "--", "sh", "-c", Script);
            await run.WaitForAsync("program-ready", Timeout);

            await run.PressCtrlCAsync();
            await run.WaitForAsync("got INT", Timeout);
            await run.PressCtrlCAsync(); // within the trap's 1.5 s: the program's business, not a kill
            var code = await run.WaitForExitAsync(Timeout);

            Assert.True(code == 7, $"attempt {attempt}: exit code {code}\n{run.Output}");
            Assert.DoesNotContain("doppel: waiting for", run.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("doppel: stopped", run.Output, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task AProgramThatIgnoresSigtermIsKilledTenSecondsLater(string binary)
    {
        await using var run = DoppelRun.WithoutTerminal(binary, NoVariables, "exec", "--", "sh", "-c", "trap '' TERM; echo program-ready; while :; do sleep 0.2; done");
        await run.WaitForAsync("program-ready", Timeout);

        Kill(await run.DoppelPidAsync(), "TERM");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var code = await run.WaitForExitAsync(Timeout);

        Assert.True(code == 128 + 9, $"exit code {code}\n{run.Output}");
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(9), $"killed after {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.Contains("did not exit within 10 s of SIGTERM", run.Output, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task CtrlCDoesNotReachTheAgentWhichServesTheProgramUntilItExits(string binary)
    {
        // targetless: the program's /etc/hosts is read through the agent. The trap reads it only
        // after Ctrl+C, so a dead agent shows as a failed read (or a restart warning).
        const string Script = "trap 'cat /etc/hosts > /dev/null && echo read hosts after INT; exit 7' INT; echo program-ready; while :; do sleep 0.2; done";
        var environment = new Dictionary<string, string> { ["DOPPEL_AGENT_BINARY"] = AgentBinary() };
        await using var run = DoppelRun.OnTerminal(binary, environment, "exec", "-t", "targetless", "--", "sh", "-c", Script);
        await run.WaitForAsync("program-ready", Timeout);
        var doppel = await run.DoppelPidAsync();
        var agent = Assert.Single(DoppelRun.ChildrenNamed(doppel, "doppel-agent"));

        Assert.NotEqual(DoppelRun.SessionOf(doppel), DoppelRun.SessionOf(agent));
        await run.PressCtrlCAsync();
        var code = await run.WaitForExitAsync(Timeout);

        Assert.True(code == 7, $"exit code {code}\n{run.Output}");
        Assert.Contains("read hosts after INT", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("the agent (pid", run.Output, StringComparison.Ordinal);
        Assert.True(await DoppelRun.HasExitedAsync(agent), "doppel left its agent running");
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task CtrlCWhileTheAgentStartsRunsNothingStopsTheAgentAndExits130(string binary)
    {
        // An "agent" that never says it listens: doppel is still waiting for it when Ctrl+C comes.
        using var dir = new TempDir();
        var agentPath = Path.Combine(dir.Path, "slow-agent");
        var pidFile = agentPath + ".pid";
        File.WriteAllText(agentPath, "#!/bin/sh\necho $$ > \"$0.pid\"\nexec sleep 1000\n");
        File.SetUnixFileMode(agentPath, (UnixFileMode)0x1ED);
        var environment = new Dictionary<string, string> { ["DOPPEL_AGENT_BINARY"] = agentPath };
        await using var run = DoppelRun.OnTerminal(binary, environment, "exec", "-t", "targetless", "--", "sh", "-c", "echo the program ran");
        var agent = await ReadPidFileAsync(pidFile);
        run.AlsoKillAtTheEnd(agent);
        var doppel = await run.DoppelPidAsync();
        Assert.NotEqual(DoppelRun.SessionOf(doppel), DoppelRun.SessionOf(agent));

        await run.PressCtrlCAsync();
        var code = await run.WaitForExitAsync(Timeout);

        Assert.True(code == ExitCodes.Interrupted, $"exit code {code}\n{run.Output}");
        Assert.DoesNotContain("the program ran", run.Output, StringComparison.Ordinal);
        Assert.True(await DoppelRun.HasExitedAsync(agent), $"doppel left its agent {agent} running\n{run.Output}");
    }

    private static async Task<int> ReadPidFileAsync(string path)
    {
        for (var clock = System.Diagnostics.Stopwatch.StartNew(); clock.Elapsed < Timeout; await Task.Delay(50))
        {
            if (File.Exists(path) && File.ReadAllText(path).Trim() is { Length: > 0 } text)
            {
                return int.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        throw new TimeoutException($"{path} was not written within {Timeout.TotalSeconds:0} s.");
    }

    /// <summary>Forks 3 workers; on SIGINT or SIGTERM it stops them with SIGTERM, reaps them and exits 0.</summary>
    private const string PythonMaster = """
        import os, signal, sys, time
        workers = []
        for _ in range(3):
            pid = os.fork()
            if pid == 0:
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
                while True:
                    time.sleep(1)
            workers.append(pid)
        received = []
        signal.signal(signal.SIGINT, lambda s, _: received.append(s))
        signal.signal(signal.SIGTERM, lambda s, _: received.append(s))
        print("workers", *workers, flush=True)
        while not received:
            time.sleep(0.05)
        time.sleep(1)  # a second copy of the signal would arrive meanwhile
        for pid in workers:
            os.kill(pid, signal.SIGTERM)
        for pid in workers:
            os.waitpid(pid, 0)
        print(f"reaped {len(workers)} workers after {signal.Signals(received[0]).name} ({len(received)} signal{'s' if len(received) > 1 else ''})", flush=True)
        """;

    private static async Task<IReadOnlyList<int>> WorkersAsync(DoppelRun run)
    {
        var line = await run.WaitForAsync(WorkersLine(), Timeout);
        var workers = WorkersLine().Match(line).Groups[1].Captures.Select(w => int.Parse(w.Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        foreach (var worker in workers)
        {
            run.AlsoKillAtTheEnd(worker);
        }

        Assert.Equal(3, workers.Count);
        return workers;
    }

    private static void Kill(int pid, string signal)
    {
        using var kill = System.Diagnostics.Process.Start("kill", ["-" + signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>DOPPEL_AGENT_BINARY (scripts/test.sh sets it), else the one scripts/build.sh leaves in artifacts/.</summary>
    internal static string AgentBinary()
    {
        var agent = Environment.GetEnvironmentVariable("DOPPEL_AGENT_BINARY") is { Length: > 0 } configured
            ? configured
            : Path.Combine(RepoPaths.Root, "artifacts", "doppel-agent");
        return File.Exists(agent) ? agent : throw new FileNotFoundException($"{agent} does not exist; run scripts/build.sh.");
    }

    [GeneratedRegex(@"workers(?: (\d+))+\r?\n")]
    private static partial Regex WorkersLine();

    [GeneratedRegex(@"child (\d+)")]
    private static partial Regex ChildPid();
}
