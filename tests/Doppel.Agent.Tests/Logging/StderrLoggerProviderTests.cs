using Doppel.Agent.Logging;
using Microsoft.Extensions.Logging;

namespace Doppel.Agent.Tests.Logging;

/// <summary>The agent's log lines on standard error: one line each, whatever a file name holds.</summary>
public sealed class StderrLoggerProviderTests
{
    private static readonly Action<ILogger, string, Exception?> s_wrote =
        LoggerMessage.Define<string>(LogLevel.Debug, new EventId(1), "file: wrote 1 bytes to {Path}");

    private static readonly Action<ILogger, string, Exception?> s_failed =
        LoggerMessage.Define<string>(LogLevel.Warning, new EventId(2), "call on {Path} failed");

    [Fact]
    public void ControlCharactersInAMessageAreEscapedSoItStaysOneLine()
    {
        using var error = new StringWriter { NewLine = "\n" };
        using var provider = new StderrLoggerProvider(error);
        var logger = provider.CreateLogger("test");

        s_wrote(logger, "/srv/n\u001b[2Jx\nagent: debug: forged", null);
        s_failed(logger, "/srv/a\rb", new IOException("bad\u001b]0;title\u0007name"));

        Assert.Equal(
            "debug: file: wrote 1 bytes to /srv/n\\x1b[2Jx\\nagent: debug: forged\n"
            + "warn: call on /srv/a\\rb failed: IOException: bad\\x1b]0;title\\x07name\n",
            error.ToString());
    }
}
