using Doppel.Linux.Text;
using Microsoft.Extensions.Logging;

namespace Doppel.Cli.Logging;

/// <summary>
/// Builds the real logger factory only when something is first logged at an enabled level.
/// Building it (a DI container resolving open generics) costs a NativeAOT start-up about 10 ms,
/// which every <c>doppel exec</c> would otherwise pay even though, at the default level, most
/// runs log nothing. Every message it passes on has its control characters escaped
/// (<see cref="Printable.Escape"/>): a file name with a newline or an escape sequence in it, logged
/// at debug level, stays on its line and cannot drive the terminal.
/// </summary>
internal sealed class LazyLoggerFactory : ILoggerFactory
{
    private readonly Lazy<ILoggerFactory> _factory;

    public LazyLoggerFactory()
    {
        _factory = new(() => CliLogging.Create(MinimumLevel));
    }

    /// <summary>Known only once the command line is parsed (<c>-v</c>); set it before anything logs.</summary>
    public LogLevel MinimumLevel { get; set; } = LogLevel.Warning;

    public ILogger CreateLogger(string categoryName) => new LazyLogger(this, categoryName);

    public void AddProvider(ILoggerProvider provider) => _factory.Value.AddProvider(provider);

    public void Dispose()
    {
        if (_factory.IsValueCreated)
        {
            _factory.Value.Dispose(); // flushes the console logger's queue
        }
    }

    private sealed class LazyLogger(LazyLoggerFactory owner, string category) : ILogger
    {
        private ILogger? _logger;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => Real.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= owner.MinimumLevel;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                Real.Log(logLevel, eventId, state, exception, (s, e) => Printable.Escape(formatter(s, e)));
            }
        }

        private ILogger Real => _logger ??= owner._factory.Value.CreateLogger(category);
    }
}
