using Doppel.Agent.Logging;
using Microsoft.Extensions.Logging;

namespace Doppel.Agent.Tests.Logging;

/// <summary>The agent's log lines on standard error: one line each, whatever a file name holds.</summary>
public sealed class StderrLoggerProviderTests
{
    [Fact]
    public void ControlCharactersInAMessageAreEscapedSoItStaysOneLine()
    {
        using var error = new StringWriter { NewLine = "\n" };
        using var provider = new StderrLoggerProvider(error);
        var logger = provider.CreateLogger("test");

        logger.LogDebug("file: wrote 1 bytes to {Path}", "/srv/n\u001b[2Jx\nagent: debug: forged");
        logger.LogWarning(new IOException("bad\u001b]0;title\u0007name"), "call on {Path} failed", "/srv/a\rb");

        Assert.Equal(
            "debug: file: wrote 1 bytes to /srv/n\\x1b[2Jx\\nagent: debug: forged\n"
            + "warn: call on /srv/a\\rb failed: IOException: bad\\x1b]0;title\\x07name\n",
            error.ToString());
    }
}
