using Doppel.Linux.Text;
using Microsoft.Extensions.Logging;

namespace Doppel.Agent.Logging;

/// <summary>
/// One line per message on standard error, <c>LEVEL: message</c> (an exception adds
/// <c>: Type: message</c>), written at once under a lock. Control characters in the message (a file
/// name with a newline or an escape sequence in it) are escaped (<see cref="Printable.Escape"/>), so
/// a message is one line and cannot forge another or drive a terminal. Standard output carries only the
/// "listening on" line its launcher waits for; a local doppel shows these lines as
/// <c>agent: debug: …</c>, a pod's log keeps them.
/// </summary>
internal sealed class StderrLoggerProvider : ILoggerProvider
{
    private readonly Lock _lock = new();
    private readonly TextWriter _error;

    public StderrLoggerProvider(TextWriter error)
    {
        _error = error;
    }

    public ILogger CreateLogger(string categoryName) => new Writer(this);

    public void Dispose()
    {
    }

    private void Write(string line)
    {
        lock (_lock)
        {
            _error.WriteLine(line);
            _error.Flush();
        }
    }

    private sealed class Writer(StderrLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            var message = Printable.Escape(formatter(state, exception));
            var line = exception is null
                ? $"{AgentLogLevel.Word(logLevel)}: {message}"
                : $"{AgentLogLevel.Word(logLevel)}: {message}: {exception.GetType().Name}: {Printable.Escape(exception.Message)}";
            owner.Write(line);
        }
    }
}
