using Doppel.Config.Logging;
using Doppel.Cli.Running;
using Microsoft.Extensions.Logging;

namespace Doppel.Cli.Tests.Commands;

public sealed class LogLevelTests
{
    [Theory]
    [InlineData(false, null, null, LogLevel.Warning)]
    [InlineData(true, null, null, LogLevel.Debug)]
    [InlineData(false, "trace", null, LogLevel.Trace)]
    [InlineData(false, null, "debug", LogLevel.Debug)]
    [InlineData(false, null, "warn,mirrord=debug", LogLevel.Debug)]
    [InlineData(false, "error", "debug", LogLevel.Error)]
    [InlineData(false, null, "mirrord_layer=info", LogLevel.Information)]
    [InlineData(false, null, "nonsense", LogLevel.Warning)]
    public void LevelComesFromVerboseThenDoppelLogThenRustLog(bool verbose, string? doppelLog, string? rustLog, LogLevel expected)
    {
        var env = new Dictionary<string, string?> { ["DOPPEL_LOG"] = doppelLog, ["RUST_LOG"] = rustLog };

        Assert.Equal(expected, LogLevels.Resolve(verbose, n => env.GetValueOrDefault(n)));
    }

    [Theory]
    [InlineData("info", "info")]
    [InlineData("debug", "debug")]
    [InlineData("warn,doppel_agent=trace", "trace")]
    [InlineData("error", "error")]
    [InlineData("off", "off")]
    [InlineData("", "info")]
    public void AgentLogLevelBecomesTheAgentsLevelWord(string configured, string expected)
    {
        Assert.Equal(expected, TargetRun.AgentLogLevel(configured));
    }

    [Theory]
    [InlineData("debug: file: reading /app/x", true)]
    [InlineData("warn: something", true)]
    [InlineData("doppel-agent: target 'pid/1' was not found.", false)]
    [InlineData("Unhandled exception. System.Exception", false)]
    public void OnlyTheAgentsLogLinesAreShownAsAgentLines(string line, bool isLogLine)
    {
        Assert.Equal(isLogLine, LocalAgent.IsLogLine(line));
    }
}
