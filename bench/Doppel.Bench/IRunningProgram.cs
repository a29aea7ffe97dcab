namespace Doppel.Bench;

/// <summary>A client left running so the bench can look at what it holds before it goes on (stdin open).</summary>
internal interface IRunningProgram : IAsyncDisposable
{
    /// <summary>The next line the program wrote, within <paramref name="timeout"/>; throws when its output ends first.</summary>
    Task<string> ReadLineAsync(TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>Writes a line to the program's stdin.</summary>
    Task WriteLineAsync(string line);

    /// <summary>Waits for the exit (kills the program after <paramref name="timeout"/>); returns its stdout, throws when it failed.</summary>
    Task<string> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken);
}
