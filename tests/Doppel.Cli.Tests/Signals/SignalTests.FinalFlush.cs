namespace Doppel.Cli.Tests.Signals;

/// <summary>
/// Ctrl+C while doppel sends the program's written files to the pod at exit (docs/cli.md, "Write
/// mode"): one line says so, a further SIGINT stops the flush at once, and the files not sent are
/// named; a program that exited 0 then makes doppel exit 74.
/// </summary>
public sealed partial class SignalTests
{
    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task CtrlCDuringTheFinalFlushSkipsItAndNamesTheFileNotSent(string binary)
    {
        // The "pod" is this test's own process (pid target: the same files); /var/tmp is not kept local.
        var id = Guid.NewGuid().ToString("N")[..8];
        var directory = Directory.CreateDirectory($"/var/tmp/doppel-flush-{id}").FullName;
        var file = Path.Combine(directory, "out.txt");
        var go = Path.Combine(Path.GetTempPath(), $"doppel-flush-go-{id}"); // /tmp: local
        try
        {
            // Opened while the agent answers; written and closed (at exit) once the agent is stopped.
            var script = $"exec 3>'{file}'; echo program-ready; while [ ! -e '{go}' ]; do sleep 0.05; done; echo written >&3; exit 0";
            await using var run = DoppelRun.WithoutTerminal(
                binary, AgentEnvironment(), "exec", "-t", $"pid/{Environment.ProcessId}", "--fs-mode", "write", "--", "sh", "-c", script);
            await run.WaitForAsync("program-ready", Timeout);
            var doppel = await run.DoppelPidAsync();
            var agent = Assert.Single(DoppelRun.ChildrenNamed(doppel, "doppel-agent"));

            // A stopped agent never answers: the write-back of out.txt waits until it is skipped.
            Kill(agent, "STOP");
            try
            {
                File.WriteAllText(go, string.Empty);
                await run.WaitForAsync("press Ctrl+C to skip.", Timeout);
                Kill(doppel, "INT");
                await run.WaitForAsync("sending it was skipped at exit", Timeout);
            }
            finally
            {
                // doppel may already have ended the stopped agent on its way out (SIGKILL works on a
                // stopped process): then there is nothing to continue.
                ContinueIfAlive(agent);
            }

            var code = await run.WaitForExitAsync(Timeout);

            Assert.True(code == 74, $"exit code {code}\n{run.Output}");
            Assert.Contains("doppel: sending 1 written file to the pod… press Ctrl+C to skip.\n", run.Output, StringComparison.Ordinal);
            Assert.Contains(
                $"error: {file} was not written back to the pod: sending it was skipped at exit, so the pod's file may hold only part of the new content; run the program again to write it.\n",
                run.Output,
                StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(go);
            Directory.Delete(directory, recursive: true);
        }
    }

    private static void ContinueIfAlive(int pid)
    {
        using var kill = System.Diagnostics.Process.Start("kill", ["-CONT", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        Assert.True(kill.ExitCode == 0 || !Directory.Exists($"/proc/{pid}"), $"kill -CONT {pid} failed while the process exists");
    }
}
