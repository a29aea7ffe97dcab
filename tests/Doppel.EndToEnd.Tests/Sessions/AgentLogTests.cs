using Doppel.EndToEnd.Tests.Support;

namespace Doppel.EndToEnd.Tests.Sessions;

/// <summary>
/// The agent can be diagnosed: <c>-l/--agent-log-level debug</c> (mirrord's flag for
/// <c>agent.log_level</c>) makes the local agent say what the session asked of it, on doppel's
/// standard error as <c>agent: debug: …</c>; at the default level it says none of that.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class AgentLogTests(ClusterFixture fixture)
{
    private string Target => $"pid/{fixture.Bff.Pid}";

    [Fact]
    public async Task AgentDebugLinesShowWhatThePodWasAskedAtDebugLevelOnly()
    {
        var script = FileScript.Write(fixture);

        var debug = await fixture.ExecAsync(["-t", Target, "-l", "debug", "--", ClusterFixture.Python, script, "read:/app/config.json"]);
        var quiet = await fixture.ExecAsync(["-t", Target, "--", ClusterFixture.Python, script, "read:/app/config.json"]);

        debug.AssertSucceededWith("read /app/config.json: '{\"db\":\"postgres\",\"replicas\":3}\\n'\n");
        quiet.AssertSucceededWith("read /app/config.json: '{\"db\":\"postgres\",\"replicas\":3}\\n'\n");
        Assert.Contains("agent: debug: file: reading /app/config.json", debug.Stderr, StringComparison.Ordinal);
        Assert.Matches(@"agent: debug: session '[^']+' \(doppel [0-9.]+\) speaks protocol ", debug.Stderr);
        Assert.DoesNotContain("agent: debug:", quiet.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AFileNameWithControlCharactersCannotForgeALogLineOrDriveTheTerminal()
    {
        var name = $"/app/rw/n\u001b[2Jx\nagent: debug: forged-{Guid.NewGuid():N}"[..60];
        var shown = Path.GetFileName(name).Replace("\u001b", @"\x1b", StringComparison.Ordinal).Replace("\n", @"\n", StringComparison.Ordinal);
        try
        {
            var result = await fixture.ExecAsync(
                ["-t", Target, "-l", "debug", "--fs-mode", "write", "--", "/bin/sh", "-c", "printf x > \"$1\" && echo written", "sh", name],
                new Dictionary<string, string?> { ["DOPPEL_LOG"] = "debug" });

            result.AssertSucceededWith("written\n");
            Assert.Equal("x", await File.ReadAllTextAsync(fixture.Bff.HostPath(name)));
            Assert.DoesNotContain('\u001b', result.Stderr);
            Assert.DoesNotContain(result.Stderr.Split('\n'), line => line.StartsWith("agent: debug: forged", StringComparison.Ordinal));
            Assert.Contains(result.Stderr.Split('\n'), line => line.StartsWith("agent: debug: ", StringComparison.Ordinal) && line.Contains(shown, StringComparison.Ordinal));
            Assert.Contains(result.Stderr.Split('\n'), line => line.Contains("doppel.", StringComparison.Ordinal) && line.Contains(shown, StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(fixture.Bff.HostPath(name));
        }
    }
}
