using Doppel.Cli.Logging;
using Doppel.Cli.Running;
using Doppel.Cli.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Doppel.Cli.Tests.Logging;

/// <summary>
/// What reaches doppel's standard error has its control characters escaped: doppel's own log lines
/// (<c>DOPPEL_LOG=debug</c>) and the local agent's lines it shows as <c>agent: LEVEL: …</c>.
/// </summary>
public sealed class ConsoleLogEscapingTests
{
    private const string Name = "/srv/n\u001b[2Jx\nagent: debug: forged";
    private const string Shown = @"/srv/n\x1b[2Jx\nagent: debug: forged";

    private static readonly Action<ILogger, string, string, Exception?> s_served =
        LoggerMessage.Define<string, string>(LogLevel.Debug, new EventId(5), "{Path} served from the remote as {CachePath}");

    [Fact]
    public void DoppelsOwnLogMessagesHaveTheirControlCharactersEscaped()
    {
        using var factory = new LazyLoggerFactory { MinimumLevel = LogLevel.Debug };
        var recorded = new Recorder();
        factory.AddProvider(recorded);

        s_served(factory.CreateLogger("doppel.interception"), Name, "/cache/1", null);

        Assert.Equal([Shown + " served from the remote as /cache/1"], recorded.Messages);
    }

    [Fact]
    public void AnAgentLineWithAControlCharacterIsEscapedAndAnEscapedOneIsKept()
    {
        var console = new TestConsole();
        var agentLine = TargetRun.AgentLine(console);

        agentLine("debug: file: wrote 1 bytes to /srv/n\u001b[2Jx");
        agentLine(@"debug: file: wrote 1 bytes to /srv/n\x1b[2Jx");

        Assert.Equal(
            "agent: debug: file: wrote 1 bytes to /srv/n\\x1b[2Jx" + Environment.NewLine
            + "agent: debug: file: wrote 1 bytes to /srv/n\\x1b[2Jx" + Environment.NewLine,
            console.StdErr);
    }

    private sealed class Recorder : ILoggerProvider
    {
        public List<string> Messages { get; } = [];

        public ILogger CreateLogger(string categoryName) => new Logger(this);

        public void Dispose()
        {
        }

        private sealed class Logger(Recorder owner) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (owner.Messages)
                {
                    owner.Messages.Add(formatter(state, exception));
                }
            }
        }
    }
}
