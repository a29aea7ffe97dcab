using System.Text.RegularExpressions;
using Doppel.EndToEnd.Tests.Support;

namespace Doppel.EndToEnd.Tests.Sessions;

/// <summary>
/// A program that exits while processes it started still run (docs/cli.md, "Processes left
/// running"): doppel keeps the session for them, says so in one line, and exits with the
/// program's code once they have gone. Ctrl+C while waiting: tests/Doppel.Cli.Tests/Signals.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed partial class LeftBehindTests(ClusterFixture fixture)
{
    private static readonly string s_backendUrl = $"http://{ClusterFixture.BackendName}/";

    private string Target => $"pid/{fixture.Bff.Pid}";

    [Fact]
    public async Task ABackgroundChildReadsPodFilesAndCallsPodServicesAfterTheProgramHasExited()
    {
        var net = NetScript.Write(fixture);

        // The child waits until the program (its parent shell) is gone, then uses the session.
        var script = $"p=$$; (while kill -0 $p 2>/dev/null; do sleep 0.05; done; cat /app/config.json; {ClusterFixture.Python} {net} http:{s_backendUrl}) & exit 3";
        var result = await fixture.ExecAsync(["-t", Target, "--", "/bin/sh", "-c", script]);

        Assert.True(result.ExitCode == 3, result.ToString());
        Assert.Equal($"{ClusterFixture.ConfigJson}http {s_backendUrl}: 'hello from backend\\n'\n", result.Stdout);
        Assert.Matches(ExitedLine("/bin/sh", 3, "sh"), result.Stderr);
        Assert.DoesNotContain("ENOSYS", result.Stdout + result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ADoubleForkedDaemonInItsOwnSessionIsServedUntilItExits()
    {
        var output = Path.Combine(fixture.WorkDirectory, "daemon-" + Guid.NewGuid().ToString("N")[..8]);
        var program = fixture.WriteFile("daemonize.py", $$"""
            import os, time, urllib.request
            program = os.getpid()
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    null = os.open("/dev/null", os.O_RDWR)
                    for fd in (0, 1, 2):
                        os.dup2(null, fd)
                    while os.path.exists(f"/proc/{program}"):
                        time.sleep(0.05)
                    config = open("/app/config.json").read()
                    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
                    body = opener.open("{{s_backendUrl}}", timeout=10).read().decode()
                    with open("{{output}}", "w") as f:
                        f.write(config + body)
                    os._exit(0)
                os._exit(0)
            os.wait()
            print("daemon started")
            """);

        var result = await fixture.ExecAsync(["-t", Target, "--", ClusterFixture.Python, program]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("daemon started\n", result.Stdout);
        Assert.Matches(ExitedLine(ClusterFixture.Python, 0, "python3"), result.Stderr);
        Assert.Equal(ClusterFixture.ConfigJson + ClusterFixture.BackendBody, File.ReadAllText(output));
    }

    [Fact]
    public async Task WithNothingLeftRunningThereIsNoExtraLine()
    {
        // A child the program waited for, and an orphan that exited while the program ran.
        var result = await fixture.ExecAsync(["-t", Target, "--", "/bin/sh", "-c", "(true &); cat /app/config.json > /dev/null & wait; echo done"]);

        result.AssertSucceededWith("done\n");
        Assert.DoesNotContain("still run", result.Stderr, StringComparison.Ordinal);
    }

    // One process, or several when the child is caught running one of its own (a sleep in its loop).
    private static Regex ExitedLine(string program, int code, string name) => new(
        $@"doppel: '{Regex.Escape(program)}' exited with {code}, but (a process it started still runs|\d+ processes it started still run) \(pid \d+ {Regex.Escape(name)}[^)]*\); " +
        @"doppel keeps serving (it until it exits|them until they exit); Ctrl\+C \(or SIGTERM to doppel\) stops (it|them)\.\n");
}
