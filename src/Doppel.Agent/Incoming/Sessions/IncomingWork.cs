using Doppel.Protocol.V1;
using Grpc.Core;

namespace Doppel.Agent.Incoming;

/// <summary>
/// One piece of work for a session: a stolen HTTP request (<see cref="HttpWork"/>) or a whole TCP
/// connection (<see cref="TcpWork"/>). The redirected side creates it, hands it to an idle Serve
/// call (<see cref="IncomingSession.DispatchAsync"/>) and awaits <see cref="Done"/>; the Serve
/// call runs it (<see cref="RunAsync"/>). Work that found no Serve call is <see cref="Fail"/>ed.
/// </summary>
internal abstract class IncomingWork
{
    private static long s_ids;
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Unique in the agent (request_head.id / tcp_open.id).</summary>
    public ulong Id { get; } = (ulong)Interlocked.Increment(ref s_ids);

    /// <summary>Completes when the work is finished, whichever way.</summary>
    public Task Done => _done.Task;

    /// <summary>
    /// Runs the work on a Serve call; <paramref name="cancellationToken"/> ends with the call or the
    /// session. Returns true when the call may carry more work (an HTTP exchange that ended cleanly).
    /// </summary>
    public async Task<bool> RunAsync(ServeStreams call, CancellationToken cancellationToken)
    {
        try
        {
            return await RunCoreAsync(call, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _done.TrySetResult();
        }
    }

    /// <summary>Ends work no Serve call took: 502 with <paramref name="reason"/> (HTTP), reset (TCP).</summary>
    public async Task FailAsync(string reason)
    {
        try
        {
            await FailCoreAsync(reason).ConfigureAwait(false);
        }
        finally
        {
            _done.TrySetResult();
        }
    }

    protected abstract Task<bool> RunCoreAsync(ServeStreams call, CancellationToken cancellationToken);

    protected abstract Task FailCoreAsync(string reason);
}

/// <summary>A Serve call's two streams; writes are serialized (gRPC allows one in flight).</summary>
internal sealed class ServeStreams(IAsyncStreamReader<ServeClientMessage> requests, IServerStreamWriter<ServeServerMessage> responses, bool wholeMessages = false) : IDisposable
{
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    /// <summary>The session's messages on this call.</summary>
    public IAsyncStreamReader<ServeClientMessage> Requests => requests;

    /// <summary>The session's hello said <c>whole_messages</c>: a request_head may carry its whole request.</summary>
    public bool WholeMessages => wholeMessages;

    /// <summary>Writes one message, after any write in flight.</summary>
    public async Task WriteAsync(ServeServerMessage message, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await responses.WriteAsync(message, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public void Dispose() => _writeLock.Dispose();
}
