namespace Doppel.Cli;

/// <summary>
/// Where commands write. <see cref="Out"/> carries results (JSON, schema) and nothing else, so it
/// can be piped; messages for the person go to standard error.
/// </summary>
public interface IUserConsole
{
    TextWriter Out { get; }

    TextWriter Error { get; }

    void WriteError(string message);

    void WriteWarning(string message);

    void WriteInfo(string message);

    /// <summary>
    /// Runs <paramref name="work"/> while showing <paramref name="activity"/>: a spinner on a
    /// terminal, one plain line otherwise. The result line (<paramref name="done"/> of the result) follows.
    /// </summary>
    Task<T> ProgressAsync<T>(string activity, Func<Task<T>> work, Func<T, string> done) => PlainProgressAsync(this, activity, work, done);

    /// <summary>
    /// The program is about to run and owns the terminal from now on: progress is plain lines, no
    /// spinner redraws over the program's output (a replica joined mid-session, an agent replaced).
    /// </summary>
    void ProgramStarting()
    {
    }

    /// <summary>The plain-lines form of <see cref="ProgressAsync"/>: the activity, then its result.</summary>
    protected static async Task<T> PlainProgressAsync<T>(IUserConsole console, string activity, Func<Task<T>> work, Func<T, string> done)
    {
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(work);
        ArgumentNullException.ThrowIfNull(done);
        console.WriteInfo(activity + " ...");
        var result = await work().ConfigureAwait(false);
        console.WriteInfo(done(result));
        return result;
    }
}
