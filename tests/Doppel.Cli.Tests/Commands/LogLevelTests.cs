using Doppel.Cli.Logging;
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
}
