using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Doppel.Session.Tests.Support;

/// <summary>A logger that keeps every entry (level, message, exception); <see cref="Logged"/> completes with the first.</summary>
internal sealed class ListLogger : ILogger
{
    private readonly TaskCompletionSource<string> _first = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ConcurrentQueue<(LogLevel Level, string Message, Exception? Exception)> Entries { get; } = new();

    /// <summary>The first entry's message, once one is logged.</summary>
    public Task<string> Logged => _first.Task;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var message = formatter(state, exception);
        Entries.Enqueue((logLevel, message, exception));
        _first.TrySetResult(message);
    }
}
