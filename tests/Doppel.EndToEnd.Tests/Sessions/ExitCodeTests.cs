using Doppel.EndToEnd.Tests.Support;

namespace Doppel.EndToEnd.Tests.Sessions;

[Collection(EndToEndCollection.Name)]
public sealed class ExitCodeTests(ClusterFixture fixture)
{
    [Theory]
    [InlineData(0)]
    [InlineData(42)]
    public async Task TheAppsExitCodeIsDoppelsExitCode(int code)
    {
        var result = await fixture.ExecAsync(
            ["-t", $"pid/{fixture.Bff.Pid}", "--", ClusterFixture.Python, "-c", "import sys; print('exiting with', sys.argv[1]); sys.exit(int(sys.argv[1]))", code.ToString()]);

        result.AssertSucceededWith($"exiting with {code}\n", code);
    }

    [Fact]
    public async Task AppKilledBySignalGivesTheShellsExitCode()
    {
        var result = await fixture.ExecAsync(["-t", $"pid/{fixture.Bff.Pid}", "--", "/bin/sh", "-c", "echo dying; kill -TERM $$"]);

        result.AssertSucceededWith("dying\n", 128 + 15);
    }

    [Fact]
    public async Task ATargetThatIsGoneIsOneSentenceAndExit69WithNothingRun()
    {
        var marker = Path.Combine(fixture.WorkDirectory, "ran-" + Guid.NewGuid().ToString("N")[..8]);

        var result = await fixture.ExecAsync(["-t", "pid/999999999", "--", "touch", marker]);

        Assert.Equal(69, result.ExitCode);
        Assert.Equal(
            "starting doppel-agent for pid/999999999 ...\nerror: the agent did not start: No process with id 999999999 exists on this machine; check the PID and try again. 'touch' was not started.\n",
            result.Stderr);
        Assert.False(File.Exists(marker));
    }
}
