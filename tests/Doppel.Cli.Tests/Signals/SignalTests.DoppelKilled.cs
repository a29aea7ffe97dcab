using System.Globalization;
using System.Text.RegularExpressions;

namespace Doppel.Cli.Tests.Signals;

/// <summary>
/// doppel killed with SIGKILL (docs/cli.md, "When doppel itself is killed"): it cannot stop the
/// program, so the kernel does (the launcher's PR_SET_PDEATHSIG); the program never runs on with
/// its trapped calls unanswered.
/// </summary>
public sealed partial class SignalTests
{
    private const string Runner = "import os, time\nprint(f'program {os.getpid()}', flush=True)\nwhile True: time.sleep(0.1)";

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task SigkillToDoppelEndsTheProgramToo(string binary)
    {
        await using var run = DoppelRun.WithoutTerminal(binary, NoVariables, "exec", "--", "python3", "-c", Runner);
        var program = await ProgramPidAsync(run);

        Kill(await run.DoppelPidAsync(), "KILL");

        Assert.True(await DoppelRun.HasExitedAsync(program), $"the program (pid {program}) still runs after doppel was killed\n{run.Output}");
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task SigkillToDoppelEndsAProgramOfATargetedSessionToo(string binary)
    {
        await using var run = DoppelRun.WithoutTerminal(binary, AgentEnvironment(), "exec", "-t", "targetless", "--", "python3", "-c", Runner);
        var program = await ProgramPidAsync(run);
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.True(DoppelRun.IsRunning(program), $"the program (pid {program}) ended while doppel ran\n{run.Output}");

        Kill(await run.DoppelPidAsync(), "KILL");

        Assert.True(await DoppelRun.HasExitedAsync(program), $"the program (pid {program}) still runs after doppel was killed\n{run.Output}");
    }

    private static async Task<int> ProgramPidAsync(DoppelRun run)
    {
        var pattern = new Regex(@"program (\d+)");
        var pid = int.Parse(pattern.Match(await run.WaitForAsync(pattern, Timeout)).Groups[1].Value, CultureInfo.InvariantCulture);
        run.AlsoKillAtTheEnd(pid);
        return pid;
    }
}
