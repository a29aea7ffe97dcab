using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Doppel.Session.Remote;

/// <summary>
/// The owner of a component's background tasks (a relay's pumps, a flow's loops), as Kestrel's
/// connection manager owns its connections: every task is kept in a set until it ends, a failure
/// its body did not expect is caught and logged (never unobserved), and <see cref="WhenAllAsync"/>
/// waits for the set to be empty, so a component's dispose leaves nothing running.
/// <code>
///   Run(body) ──► set ∪ {task} ──► body ──► (failure logged) ──► set ∖ {task}
///   DisposeAsync: cancel the component's token ──► WhenAllAsync ──► set empty
/// </code>
/// </summary>
internal sealed class BackgroundTasks(ILogger logger)
{
    private readonly ConcurrentDictionary<long, Task> _running = new();
    private long _next;

    /// <summary>Tasks started and not yet ended.</summary>
    public int Count => _running.Count;

    /// <summary>
    /// Runs <paramref name="body"/> on the thread pool as an owned task; <paramref name="what"/>
    /// names it in the log (<c>UDP flow 127.0.0.1:5353 → 10.0.0.10:53</c>). Never throws.
    /// </summary>
    public void Run(string what, Func<Task> body)
    {
        var id = Interlocked.Increment(ref _next);

        // The body starts only once the task is in the set, so its removal cannot come first.
        var added = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _running[id] = GuardedAsync(id, what, body, added.Task);
        added.SetResult();
    }

    /// <summary>Waits until every task has ended, those started meanwhile too. Cancel their token first.</summary>
    public async Task WhenAllAsync()
    {
        while (!_running.IsEmpty)
        {
            await Task.WhenAll(_running.Values.ToArray()).ConfigureAwait(false);
        }
    }

    private async Task GuardedAsync(long id, string what, Func<Task> body, Task added)
    {
        await added.ConfigureAwait(false);
        try
        {
            await body().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            RemoteLog.BackgroundTaskFailed(logger, what, e);
        }
        finally
        {
            _running.TryRemove(id, out _);
        }
    }
}
