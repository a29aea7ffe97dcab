using Doppel.Interception.Policy;
using Doppel.Interception.Remote;
using Doppel.Linux.Native;
using Doppel.Linux.Seccomp;
using Microsoft.Extensions.Logging;

namespace Doppel.Interception.Supervision;

/// <summary>
/// The notification loop.
/// <code>
///   kernel ──notif──► receive thread (blocking RECV) ──► handler
///                        │  completes synchronously ──► SEND on the receive thread
///                        └─ awaits the remote ─────────► SEND from the continuation (thread pool)
/// </code>
/// The receive thread never waits for the remote, so one slow remote call stalls only the
/// thread that made it. With SYNC_WAKE_UP the kernel wakes the receive thread on the caller's
/// CPU, which is what makes the synchronous path fast.
/// </summary>
internal sealed class Supervisor : IDisposable
{
    private readonly SeccompListener _listener;
    private readonly IInterceptionPolicy _policy;
    private readonly ILogger _logger;
    private readonly Dictionary<int, ISyscallHandler> _handlers = [];

    // The handlers the supervisor owns that hold resources (the lock handler's exit timer).
    private readonly List<IDisposable> _owned = [];
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stopping = new();
    private Thread? _thread;

    public Supervisor(SeccompListener listener, IInterceptionPolicy policy, IEnumerable<ISyscallHandler> handlers, ILogger logger)
    {
        _listener = listener;
        _policy = policy;
        _logger = logger;
        foreach (var handler in handlers)
        {
            if (handler is IDisposable disposable)
            {
                _owned.Add(disposable);
            }

            foreach (var nr in handler.SyscallNumbers)
            {
                _handlers[nr] = handler;
            }
        }
    }

    public InterceptionStatistics Statistics { get; } = new();

    /// <summary>Completes when no process is left under the filter, or after <see cref="Dispose"/>.</summary>
    public Task Completion => _completed.Task;

    public void Start()
    {
        _listener.TrySetSyncWakeUp();
        _thread = new Thread(ReceiveLoop) { IsBackground = true, Name = "doppel-seccomp" };
        _thread.Start();
    }

    private void ReceiveLoop()
    {
        try
        {
            while (!_stopping.IsCancellationRequested)
            {
                // RECV blocks until a notification arrives; a poll() before every RECV would add a
                // syscall to each trapped call. When no task is left under the filter, RECV returns
                // ENOENT (forever): only then is poll asked whether the listener has hung up.
                var errno = _listener.Receive(out var data);
                if (errno == Errno.ENOENT)
                {
                    if (_listener.Wait(0) == ListenerState.Closed)
                    {
                        _logger.ListenerClosed();
                        break;
                    }

                    continue; // the caller was killed before we took its notification
                }

                if (errno == Errno.EINTR)
                {
                    continue;
                }

                if (errno != 0)
                {
                    _logger.ReceiveFailed(errno);
                    break;
                }

                if (_stopping.IsCancellationRequested)
                {
                    break; // disposed while blocked: unanswered, the caller gets ENOSYS once the listener closes
                }

                Statistics.CountNotification();
                Dispatch(new Notification(_listener, data));
            }
        }
        finally
        {
            _completed.TrySetResult();
        }
    }

    private void Dispatch(Notification notification)
    {
        if (!_handlers.TryGetValue(notification.Nr, out var handler) || IsSkippedProcess(notification.ThreadId))
        {
            Respond(notification.Continue());
            return;
        }

        ValueTask<HandlerResult> pending;
        try
        {
            pending = handler.HandleAsync(notification, _stopping.Token);
        }
        catch (RemoteFileException e)
        {
            Respond(notification.Fail(e.Errno));
            return;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug of ours: the call runs locally rather than failing the app.
            _logger.HandlerFailed(notification.Nr, notification.ThreadId, e);
            Respond(notification.Continue());
            return;
        }

        if (pending.IsCompletedSuccessfully)
        {
            Complete(notification, pending.Result);
        }
        else
        {
            _ = CompleteLaterAsync(notification, pending);
        }
    }

    private async Task CompleteLaterAsync(Notification notification, ValueTask<HandlerResult> pending)
    {
        HandlerResult result;
        try
        {
            result = await pending.ConfigureAwait(false);
        }
        catch (RemoteFileException e)
        {
            result = notification.Fail(e.Errno);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _logger.HandlerFailed(notification.Nr, notification.ThreadId, e);
            result = notification.Fail(Errno.EIO);
        }

        Complete(notification, result);
    }

    private void Complete(Notification notification, HandlerResult result)
    {
        if (result.Response is { } response)
        {
            Respond(response);
        }
        else
        {
            Statistics.CountAnswered();
        }
    }

    private void Respond(in SeccompResponse response)
    {
        if ((response.Flags & SeccompResponse.FlagContinue) != 0)
        {
            Statistics.CountContinued();
        }
        else
        {
            Statistics.CountAnswered();
        }

        if (_listener.Respond(response) != 0)
        {
            Statistics.CountFailedResponse(); // ENOENT: the caller was interrupted meanwhile
        }
    }

    private bool IsSkippedProcess(int threadId)
    {
        var skipped = _policy.SkippedProcesses;
        if (skipped.Count == 0)
        {
            return false;
        }

        string? exe;
        try
        {
            exe = new FileInfo($"/proc/{threadId}/exe").LinkTarget;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }

        if (exe is null || !skipped.Contains(Path.GetFileName(exe)))
        {
            return false;
        }

        Statistics.CountSkipped();
        _policy.OnProcessSkipped(Path.GetFileName(exe));
        return true;
    }

    /// <summary>
    /// Stops handling and disposes the handlers that hold resources (the lock handler's timer). A
    /// receive thread blocked in RECV (processes still under the filter) cannot be woken: it ends at
    /// the next notification, leaving it unanswered; the listener fd closes then (it holds a
    /// reference), and trapped calls of what is left fail with ENOSYS.
    /// </summary>
    public void Dispose()
    {
        _stopping.Cancel();
        foreach (var handler in _owned)
        {
            handler.Dispose();
        }

        _owned.Clear();
        if (_thread is not null && !_thread.Join(TimeSpan.FromMilliseconds(100)))
        {
            return; // leave _stopping undisposed: the blocked thread still reads it
        }

        _stopping.Dispose();
    }
}
