using Microsoft.AspNetCore.Connections;

namespace Doppel.Agent.Hosting;

/// <summary>
/// Counts open connections; once the first client has come, the last one leaving starts a
/// timer of <c>--idle-exit</c> seconds that stops the agent unless a client comes back.
/// Before the first connection the agent waits for <see cref="WaitForFirst"/>'s limit, if one was
/// set (<c>--first-connection-timeout</c>), else indefinitely (its launcher is still connecting).
/// The timer is a <see cref="ITimer"/> owned here, not a detached task: dispose stops it. It comes
/// from <paramref name="time"/> (<see cref="TimeProvider.System"/> in the agent; a test's fake clock).
/// <para>
/// When <paramref name="dropped"/> says a session's connections closed without it saying it ends
/// (agent.proto, <c>PingRequest.ending</c>: its port-forward or the API server dropped), the wait is
/// at least <see cref="ReconnectGrace"/>, so that the session reconnects to this agent (its
/// subscriptions, locks and owner table kept) instead of finding it gone and placing a new one.
/// mirrord's agent waits its ttl (1 s) in every case.
/// </para>
/// </summary>
internal sealed class IdleExit(TimeSpan delay, TimeProvider time, Action stop, Func<bool>? dropped = null) : IDisposable
{
    /// <summary>The least wait after a session dropped without saying it ends.</summary>
    public static readonly TimeSpan ReconnectGrace = TimeSpan.FromSeconds(20);

    private readonly Lock _lock = new();
    private int _open;
    private bool _connected;
    private ITimer? _pending;

    /// <summary>Stops the agent after <paramref name="limit"/> unless a client has connected by then.</summary>
    public void WaitForFirst(TimeSpan limit)
    {
        lock (_lock)
        {
            if (_connected)
            {
                return;
            }

            ITimer? timer = null;
            timer = time.CreateTimer(
                _ =>
                {
                    lock (_lock)
                    {
                        if (_connected || !ReferenceEquals(_pending, timer))
                        {
                            return;
                        }
                    }

                    stop();
                },
                null,
                limit,
                Timeout.InfiniteTimeSpan);
            _pending = timer;
        }
    }

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
            _pending?.Dispose();
            _pending = null;
        }
    }

    private void Opened()
    {
        lock (_lock)
        {
            _open++;
            _connected = true;
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

            ITimer? timer = null;
            timer = time.CreateTimer(
                _ =>
                {
                    lock (_lock)
                    {
                        if (!ReferenceEquals(_pending, timer))
                        {
                            return; // a client came back (or the agent stops) after the timer fired
                        }
                    }

                    stop();
                },
                null,
                dropped?.Invoke() == true && delay < ReconnectGrace ? ReconnectGrace : delay,
                Timeout.InfiniteTimeSpan);
            _pending = timer;
        }
    }
}
