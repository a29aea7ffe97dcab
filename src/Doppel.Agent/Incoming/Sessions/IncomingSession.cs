using System.Threading.Channels;
using Doppel.Protocol.V1;
using Grpc.Core;

namespace Doppel.Agent.Incoming;

/// <summary>
/// One session's Subscribe call: its id and name, its control stream (welcome, subscribed,
/// notices) and its idle Serve calls waiting for work.
/// <code>
///   redirected request/connection ──DispatchAsync──► idle Serve call of the session (≤ 5 s wait) ──► session
/// </code>
/// <see cref="Ended"/> is cancelled when the Subscribe call ends (any way); work in flight on its
/// Serve calls then fails (502 / reset).
/// </summary>
internal sealed class IncomingSession : IDisposable
{
    private readonly IServerStreamWriter<IncomingServerMessage> _control;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Channel<IdleServe> _idle = Channel.CreateUnbounded<IdleServe>();
    private readonly CancellationTokenSource _ended = new();

    public IncomingSession(string id, string name, IServerStreamWriter<IncomingServerMessage> control)
    {
        Id = id;
        Name = name;
        _control = control;
    }

    /// <summary>The id the agent gave the session (its Serve calls name it).</summary>
    public string Id { get; }

    /// <summary>The session's name from its hello ("alice@laptop (pid 4242)"), for other sessions' messages.</summary>
    public string Name { get; }

    /// <summary>The session's hello said <c>whole_messages</c> (incoming.proto): its Serve calls get whole requests in one message.</summary>
    public bool WholeMessages { get; init; }

    /// <summary>The agent's record of the session that opened this Subscribe call (Status: subscriptions, counters); null when its calls name none.</summary>
    public Doppel.Agent.Sessions.AgentSession? Owner { get; init; }

    /// <summary>Cancelled when the session's Subscribe call has ended.</summary>
    public CancellationToken Ended => _ended.Token;

    /// <summary>Writes one control message; false when the call is gone.</summary>
    public async Task<bool> SendAsync(IncomingServerMessage message)
    {
        try
        {
            await _writeLock.WaitAsync(Ended).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }

        try
        {
            await _control.WriteAsync(message, Ended).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
        {
            return false;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Sends a notice without waiting for it (a lost notice is no error).</summary>
    public void Notify(string text) => _ = SendAsync(new IncomingServerMessage { Notice = new IncomingNotice { Text = text } });

    /// <summary>Offers an idle Serve call for the next piece of work.</summary>
    public void AddIdle(IdleServe idle) => _idle.Writer.TryWrite(idle);

    /// <summary>
    /// Hands <paramref name="work"/> to an idle Serve call: at once when one is idle, else waits up
    /// to <paramref name="wait"/> for one. False when none became idle in time or the session ended.
    /// </summary>
    public async Task<bool> DispatchAsync(IncomingWork work, TimeSpan wait, CancellationToken cancellationToken)
    {
        // The usual case, a call already idle, needs no deadline (a timer per request).
        while (!Ended.IsCancellationRequested && _idle.Reader.TryRead(out var ready))
        {
            if (ready.TryAssign(work))
            {
                Owner?.CountRouted(work is TcpWork or MirrorCopy { IsHttp: false });
                return true;
            }
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Ended, cancellationToken);
        deadline.CancelAfter(wait);
        try
        {
            while (true)
            {
                var idle = await _idle.Reader.ReadAsync(deadline.Token).ConfigureAwait(false);
                if (idle.TryAssign(work))
                {
                    Owner?.CountRouted(work is TcpWork or MirrorCopy { IsHttp: false });
                    return true;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
            return false;
        }
    }

    /// <summary>Ends the session: its idle Serve calls end, its work in flight fails.</summary>
    public void End()
    {
        _idle.Writer.TryComplete();
        _ended.Cancel();
        while (_idle.Reader.TryRead(out var idle))
        {
            idle.Cancel();
        }
    }

    public void Dispose()
    {
        _ended.Dispose();
        _writeLock.Dispose();
    }
}

/// <summary>An idle Serve call waiting for its next piece of work (assigned at most once).</summary>
internal sealed class IdleServe
{
    private readonly TaskCompletionSource<IncomingWork> _work = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes with the assigned work, or is cancelled when the call or the session ended first.</summary>
    public Task<IncomingWork> Work => _work.Task;

    /// <summary>Assigns the work; false when the call is no longer idle (it ended).</summary>
    public bool TryAssign(IncomingWork work) => _work.TrySetResult(work);

    public void Cancel() => _work.TrySetCanceled();
}
