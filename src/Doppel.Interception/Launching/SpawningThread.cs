using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace Doppel.Interception.Launching;

/// <summary>
/// A thread of its own that forks the launcher and lives until the program is done with. The
/// launcher's <c>PR_SET_PDEATHSIG</c> fires when the thread that forked it ends, not the process
/// (prctl(2)); <see cref="Process.Start()"/> forks on the calling thread, which may be a thread-pool
/// thread the pool retires while the program runs, killing it. The thread is created by the
/// calling thread, so it starts in the same namespaces (a new thread copies its creator's network
/// namespace, which the launcher inherits).
/// </summary>
internal sealed class SpawningThread : IDisposable
{
    private const int StackSize = 256 * 1024;

    // Set by Dispose to let the thread end; disposed once the thread has ended (Dispose joins it), or
    // by Spawn when the spawn failed (the thread then never waits on it).
    private readonly ManualResetEventSlim _done = new();
    private Thread? _thread;
    private int _disposed;

    private SpawningThread()
    {
    }

    /// <summary>Runs <paramref name="spawn"/> on a new thread and returns its process and the thread, which waits until disposed; an exception of <paramref name="spawn"/> is rethrown here.</summary>
    public static (Process Process, SpawningThread Thread) Spawn(Func<Process> spawn)
    {
        var owner = new SpawningThread();
        Process? process = null;
        ExceptionDispatchInfo? failure = null;
        using var spawned = new ManualResetEventSlim();
        var thread = new Thread(
            () =>
            {
                try
                {
                    process = spawn();
                }
                catch (Exception e)
                {
                    failure = ExceptionDispatchInfo.Capture(e);
                }

                spawned.Set();
                if (failure is null)
                {
                    owner._done.Wait();
                }
            },
            StackSize)
        { IsBackground = true, Name = "doppel program parent" };
        owner._thread = thread;
        thread.Start();
        spawned.Wait();
        if (failure is not null)
        {
            owner._done.Dispose();
            failure.Throw();
        }

        return (process!, owner);
    }

    /// <summary>
    /// Lets the thread end (the launcher, if it still runs, gets SIGKILL from the kernel), waits until
    /// it has, and releases the event it waited on. Idempotent.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _done.Set();

        // The thread's last act is returning from its wait: the join is immediate, and after it nobody uses the event.
        _thread?.Join();
        _done.Dispose();
    }
}
