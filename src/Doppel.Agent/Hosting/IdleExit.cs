using Microsoft.AspNetCore.Connections;

namespace Doppel.Agent.Hosting;

/// <summary>
/// Counts open connections; once the first client has come, the last one leaving starts a
/// timer of <c>--idle-exit</c> seconds that stops the agent unless a client comes back.
/// Before the first connection the agent waits indefinitely (its launcher is still connecting).
/// </summary>
internal sealed class IdleExit(TimeSpan delay, Action stop) : IDisposable
{
    private readonly Lock _lock = new();
    private int _open;
    private CancellationTokenSource? _pending;

    public ConnectionDelegate Wrap(ConnectionDelegate next) => async context =>
    {
        Opened();
        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            Closed();
        }
    };

    public void Dispose()
    {
        lock (_lock)
        {
            _pending?.Cancel();
            _pending?.Dispose();
            _pending = null;
        }
    }

    private void Opened()
    {
        lock (_lock)
        {
            _open++;
            _pending?.Cancel();
            _pending?.Dispose();
            _pending = null;
        }
    }

    private void Closed()
    {
        lock (_lock)
        {
            if (--_open > 0)
            {
                return;
            }

            _pending = new CancellationTokenSource();
            var token = _pending.Token;
            _ = Task.Delay(delay, token).ContinueWith(
                t =>
                {
                    if (!t.IsCanceled)
                    {
                        stop();
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }
    }
}
