using System.Globalization;
using System.Text.RegularExpressions;

namespace Doppel.Cli.Tests.Signals;

/// <summary>
/// Ctrl+C while doppel serves the processes a program left running (docs/cli.md, "Processes left
/// running"): they are stopped and doppel exits with the program's code.
/// </summary>
public sealed partial class SignalTests
{
    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task CtrlCStopsABackgroundJobLeftRunningAndDoppelExitsWithTheProgramsCode(string binary)
    {
        // A background job of a non-interactive sh ignores SIGINT: the typed Ctrl+C does not stop it, doppel's SIGTERM does.
        await using var run = DoppelRun.OnTerminal(binary, AgentEnvironment(), "exec", "-t", "targetless", "--", "sh", "-c", "sleep 1000 & exit 4");
        var sleep = await LeftBehindPidAsync(run, "sleep");
        Assert.True(DoppelRun.IsRunning(sleep), run.Output);

        await run.PressCtrlCAsync();
        var code = await run.WaitForExitAsync(Timeout);

        Assert.True(code == 4, $"exit code {code}\n{run.Output}");
        Assert.Contains("doppel: stopping 1 process 'sh' left running: SIGTERM now, SIGKILL 10 s later or at the next Ctrl+C.", run.Output, StringComparison.Ordinal);
        Assert.False(DoppelRun.IsRunning(sleep), $"pid {sleep} still runs\n{run.Output}");
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task AProcessLeftRunningThatHandlesTheTypedCtrlCItselfGetsNoSigterm(string binary)
    {
        const string Child = """
            import signal, time
            got = {"INT": 0, "TERM": 0}
            signal.signal(signal.SIGINT, lambda *_: got.__setitem__("INT", got["INT"] + 1))
            signal.signal(signal.SIGTERM, lambda *_: got.__setitem__("TERM", got["TERM"] + 1))
            print("child-ready", flush=True)
            while got["INT"] == 0:
                time.sleep(0.05)
            time.sleep(1)
            print(f"child got {got['INT']} INT, {got['TERM']} TERM", flush=True)
            """;
        await using var run = DoppelRun.OnTerminal(binary, AgentEnvironment(), "exec", "-t", "targetless", "--", "sh", "-c", "python3 -c \"$1\" & exit 4", "sh", Child);
        await run.WaitForAsync("child-ready", Timeout);
        var child = await LeftBehindPidAsync(run, "python3");

        await run.PressCtrlCAsync();
        var code = await run.WaitForExitAsync(Timeout);

        Assert.True(code == 4, $"exit code {code}\n{run.Output}");
        Assert.Contains("child got 1 INT, 0 TERM", run.Output, StringComparison.Ordinal);
        Assert.False(DoppelRun.IsRunning(child), $"pid {child} still runs\n{run.Output}");
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task ASecondCtrlCKillsWhatIgnoresSigtermAndDoppelStillExitsWithTheProgramsCode(string binary)
    {
        const string Script = "(trap '' TERM; while :; do sleep 0.2; done) & exit 4";
        await using var run = DoppelRun.OnTerminal(binary, AgentEnvironment(), "exec", "-t", "targetless", "--", "sh", "-c", Script);
        var shell = await LeftBehindPidAsync(run, "sh");

        await run.PressCtrlCAsync();
        await run.WaitForAsync("left running: SIGTERM now", Timeout);
        await run.PressCtrlCAsync();
        var code = await run.WaitForExitAsync(Timeout);

        Assert.True(code == 4, $"exit code {code}\n{run.Output}");
        Assert.Matches(@"doppel: stopped what 'sh' left running: \d+ process(es)? killed with SIGKILL\.", run.Output);
        Assert.False(DoppelRun.IsRunning(shell), $"pid {shell} still runs\n{run.Output}");
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task SigtermToDoppelStopsWhatTheProgramLeftRunning(string binary)
    {
        await using var run = DoppelRun.WithoutTerminal(binary, AgentEnvironment(), "exec", "-t", "targetless", "--", "sh", "-c", "sleep 1000 & exit 4");
        var sleep = await LeftBehindPidAsync(run, "sleep");

        Kill(await run.DoppelPidAsync(), "TERM");
        var code = await run.WaitForExitAsync(Timeout);

        Assert.True(code == 4, $"exit code {code}\n{run.Output}");
        Assert.Contains("doppel: stopping 1 process 'sh' left running", run.Output, StringComparison.Ordinal);
        Assert.False(DoppelRun.IsRunning(sleep), $"pid {sleep} still runs\n{run.Output}");
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task WhatAProgramLeavesRunningWhenSigtermEndsItIsStoppedAtOnce(string binary)
    {
        // The user asked the session to end: what the program leaves behind is not kept.
        const string Script = "trap 'exit 5' TERM; sleep 1000 & echo program-ready; while :; do sleep 0.1; done";
        await using var run = DoppelRun.WithoutTerminal(binary, AgentEnvironment(), "exec", "-t", "targetless", "--", "sh", "-c", Script);
        await run.WaitForAsync("program-ready", Timeout);

        Kill(await run.DoppelPidAsync(), "TERM");
        var line = await run.WaitForAsync(new Regex(@"'sh' exited with 5, but a process it started still runs \(pid (\d+) sleep\); stopping it: SIGTERM now, SIGKILL 10 s later or at the next Ctrl\+C\."), Timeout);
        var sleep = int.Parse(Regex.Match(line, @"pid (\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
        run.AlsoKillAtTheEnd(sleep);
        var code = await run.WaitForExitAsync(Timeout);

        Assert.True(code == 5, $"exit code {code}\n{run.Output}");
        Assert.False(DoppelRun.IsRunning(sleep), $"pid {sleep} still runs\n{run.Output}");
    }

    private static Dictionary<string, string> AgentEnvironment() => new() { ["DOPPEL_AGENT_BINARY"] = AgentBinary() };

    /// <summary>Waits for doppel's line about the processes left running and returns the pid it names for <paramref name="name"/>.</summary>
    private static async Task<int> LeftBehindPidAsync(DoppelRun run, string name)
    {
        var pattern = new Regex($@"doppel: 'sh' exited with 4, but (a process|\d+ processes) it started still runs? \(.*?pid (\d+) {Regex.Escape(name)}\b.*?doppel keeps serving");
        var line = await run.WaitForAsync(pattern, Timeout);
        var pid = int.Parse(pattern.Match(line).Groups[2].Value, CultureInfo.InvariantCulture);
        run.AlsoKillAtTheEnd(pid);
        return pid;
    }
}
