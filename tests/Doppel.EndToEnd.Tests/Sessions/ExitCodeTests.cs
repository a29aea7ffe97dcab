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
}
