using System.Collections.Concurrent;

namespace Doppel.Linux.Namespaces;

/// <summary>
/// One dedicated thread that lives in a network namespace and runs short pieces of work there,
/// typically <c>socket()</c>: setns(CLONE_NEWNET) moves only the calling thread, and a socket keeps
/// the namespace it was created in, so the sockets it creates work from any thread afterwards.
/// <code>
///   caller ──RunAsync(work)──► queue ──► [ns thread: setns once] work() ──► Task result
/// </code>
/// No other code ever runs on the thread, so nothing else is affected by its namespace.
/// </summary>
public sealed class NetworkNamespaceThread : IDisposable
{
    private readonly BlockingCollection<Action> _work = [];
    private readonly Thread _thread;

    private NetworkNamespaceThread(string name)
    {
        _thread = new Thread(Loop) { IsBackground = true, Name = name };
    }

    /// <summary>
    /// Starts the thread and moves it into the namespace behind <paramref name="namespacePath"/>
    /// (<c>/proc/PID/ns/net</c>, <c>/run/netns/NAME</c>), or leaves it in the caller's namespace when
    /// null or when that is the namespace named (<see cref="NamespaceIdentity.IsCurrent"/>). Throws <see cref="IOException"/> when the namespace cannot be opened or joined.
    /// </summary>
    public static NetworkNamespaceThread Start(string? namespacePath, string threadName)
    {
        var thread = new NetworkNamespaceThread(threadName);
        thread._thread.Start();

        // Already there (an agent in the target's own pod): nothing to join, and no CAP_SYS_ADMIN needed.
        if (namespacePath is null || NamespaceIdentity.IsCurrent(namespacePath, "net"))
        {
            return thread;
        }

        try
        {
            thread.RunAsync(() =>
            {
                using var ns = File.OpenHandle(namespacePath);
                var errno = NetworkNamespace.Enter(ns);
                return errno == 0
                    ? 0
                    : throw new IOException($"Joining the network namespace {namespacePath} failed with errno {errno}.");
            }).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            thread.Dispose();
            throw new IOException(e.Message, e);
        }

        return thread;
    }

    /// <summary>Runs <paramref name="work"/> on the namespace thread; its exception, if any, faults the task.</summary>
    public Task<T> RunAsync<T>(Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            _work.Add(() =>
            {
                try
                {
                    done.SetResult(work());
                }
#pragma warning disable CA1031 // every failure belongs to the caller's task
                catch (Exception e)
#pragma warning restore CA1031
                {
                    done.SetException(e);
                }
            });
        }
        catch (InvalidOperationException)
        {
            done.SetException(new ObjectDisposedException(nameof(NetworkNamespaceThread)));
        }

        return done.Task;
    }

    /// <summary>Lets the thread finish the queued work and end.</summary>
    public void Dispose()
    {
        _work.CompleteAdding();
        if (Environment.CurrentManagedThreadId != _thread.ManagedThreadId)
        {
            _thread.Join();
        }

        _work.Dispose();
    }

    private void Loop()
    {
        foreach (var work in _work.GetConsumingEnumerable())
        {
            work();
        }
    }
}
