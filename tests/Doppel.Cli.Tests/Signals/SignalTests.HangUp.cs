namespace Doppel.Cli.Tests.Signals;

/// <summary>
/// A terminal hang-up when doppel leads the terminal's session (<c>script -c</c>, <c>ssh -t</c>,
/// <c>tmux new</c>; pty-driver.py starts doppel that way): the kernel sends SIGHUP to doppel alone,
/// doppel sends it on to the program (docs/cli.md, "Ctrl+C and signals").
/// </summary>
public sealed partial class SignalTests
{
    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task AHangUpReachesTheProgramWhenDoppelLeadsTheSessionAndItsExitCodePassesThrough(string binary)
    {
        using var dir = new Support.TempDir();
        var mark = Path.Combine(dir.Path, "hup");
        var script = $"trap 'echo hup > {mark}; exit 3' HUP; echo program-ready; while :; do sleep 0.1; done";
        await using var run = DoppelRun.OnTerminal(binary, NoVariables, "exec", "--", "sh", "-c", script);
        await run.WaitForAsync("program-ready", Timeout);

        await run.HangUpAsync();
        var code = await run.WaitForExitAsync(Timeout);

        Assert.True(code == 3, $"exit code {code}\n{run.Output}");
        Assert.True(File.Exists(mark), $"the program's HUP trap did not run\n{run.Output}");
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task AfterAHangUpAWarningDoesNotCrashDoppelAndSigtermStillCleansUp(string binary)
    {
        // The program survives the hang-up (its trap only marks it), so doppel and its agent outlive the terminal.
        using var dir = new Support.TempDir();
        var mark = Path.Combine(dir.Path, "hup");
        var script = $"trap 'echo hup > {mark}' HUP; trap 'exit 4' TERM; echo program-ready; while :; do sleep 0.1; done";
        await using var run = DoppelRun.OnTerminal(binary, AgentEnvironment(), "exec", "-t", "targetless", "--", "sh", "-c", script);
        await run.WaitForAsync("program-ready", Timeout);
        var doppel = await run.DoppelPidAsync();
        var agent = Assert.Single(DoppelRun.ChildrenNamed(doppel, "doppel-agent"));
        var socket = File.ReadAllText($"/proc/{agent}/cmdline").Split('\0').Single(a => a.StartsWith("unix:", StringComparison.Ordinal))["unix:".Length..];

        await run.HangUpAsync();
        await WaitForFileAsync(mark);

        // The agent dies: doppel restarts it and warns on the gone terminal.
        Kill(agent, "KILL");
        await WaitForRestartedAgentAsync(doppel, agent);
        Kill(doppel, "TERM");
        var code = await run.WaitForExitAsync(Timeout);

        Assert.True(code == 4, $"exit code {code}\n{run.Output}");
        Assert.False(Directory.Exists(Path.GetDirectoryName(socket)), $"doppel left {socket} behind\n{run.Output}");
    }

    private static async Task WaitForFileAsync(string path)
    {
        for (var clock = System.Diagnostics.Stopwatch.StartNew(); !File.Exists(path); await Task.Delay(50))
        {
            if (clock.Elapsed > Timeout)
            {
                throw new TimeoutException($"{path} was not written within {Timeout.TotalSeconds:0} s.");
            }
        }
    }

    private static async Task WaitForRestartedAgentAsync(int doppel, int old)
    {
        for (var clock = System.Diagnostics.Stopwatch.StartNew(); DoppelRun.IsRunning(doppel); await Task.Delay(50))
        {
            if (DoppelRun.ChildrenNamed(doppel, "doppel-agent").Any(pid => pid != old))
            {
                return;
            }

            if (clock.Elapsed > Timeout)
            {
                throw new TimeoutException($"doppel did not restart its agent within {Timeout.TotalSeconds:0} s.");
            }
        }

        Assert.Fail($"doppel (pid {doppel}) died after its agent did.");
    }
}
