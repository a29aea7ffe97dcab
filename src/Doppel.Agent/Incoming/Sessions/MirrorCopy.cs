using System.Buffers;
using System.Threading.Channels;
using Doppel.Protocol;
using Doppel.Protocol.V1;
using Google.Protobuf;

namespace Doppel.Agent.Incoming;

/// <summary>
/// One mirror copy for one session: of a whole connection (tcp_open, data…, half_close) or of
/// one HTTP request (request_head, data…, request_end). The original path feeds it
/// (<see cref="Add"/>, <see cref="End"/>) without ever waiting; a Serve call of the session sends
/// it (<see cref="RunCoreAsync"/>) and reads the session's answers only to discard them.
/// <code>
///   tee ──Add/End──► messages (bytes reserved in the session's MirrorQueue) ──Serve call──► session
///                                                      session ──response_head/end, half_close──► discarded
/// </code>
/// A chunk that does not fit the session's queue drops the copy: it is counted, whatever it still
/// holds is released, and a copy already started ends with <c>error</c> (the session gives up the
/// delivery). A copy dropped before a Serve call took it never reaches the session.
/// </summary>
internal sealed class MirrorCopy : IncomingWork
{
    private const int Open = 0;
    private const int Ended = 1;
    private const int Dropped = 2;
    private const int Abandoned = 3;

    // Unbounded by count, bounded by the queue's bytes; several readers: Drop drains what the sender has not taken.
    private readonly Channel<ServeServerMessage> _messages = Channel.CreateUnbounded<ServeServerMessage>(new UnboundedChannelOptions { SingleWriter = false, SingleReader = false });
    private readonly MirrorQueue _queue;
    private readonly int _port;
    private readonly bool _http;
    private int _state;

    /// <summary>
    /// A copy whose first message <paramref name="first"/> makes from the copy's id (request_head
    /// or tcp_open, with mirror set); null when not even that fits the queue (counted as dropped).
    /// </summary>
    public static MirrorCopy? Start(MirrorQueue queue, int port, bool http, Func<ulong, ServeServerMessage> first)
    {
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(first);
        if (!queue.TryReserve(MirrorQueue.HeadCost))
        {
            queue.CountDrop(port, 1, 0);
            return null;
        }

        var copy = new MirrorCopy(queue, port, http);
        copy._messages.Writer.TryWrite(first(copy.Id));
        queue.Enqueue(copy);
        return copy;
    }

    /// <summary>A copy of one HTTP request (else of a whole connection).</summary>
    public bool IsHttp => _http;

    private MirrorCopy(MirrorQueue queue, int port, bool http)
    {
        _queue = queue;
        _port = port;
        _http = http;
    }

    /// <summary>True once the copy has been dropped.</summary>
    public bool IsDropped => Volatile.Read(ref _state) == Dropped;

    /// <summary>Copies <paramref name="bytes"/> (in chunks of at most <see cref="Relay.ChunkSize"/>); drops the copy when they do not fit.</summary>
    public void Add(ReadOnlySequence<byte> bytes)
    {
        if (Volatile.Read(ref _state) != Open)
        {
            if (IsDropped)
            {
                _queue.CountDrop(_port, 0, bytes.Length);
            }

            return;
        }

        while (!bytes.IsEmpty)
        {
            var chunk = bytes.Slice(0, Math.Min(bytes.Length, Relay.ChunkSize));
            if (!_queue.TryReserve(chunk.Length))
            {
                Drop(bytes.Length);
                return;
            }

            if (!_messages.Writer.TryWrite(new ServeServerMessage { Data = ByteString.CopyFrom(chunk.ToArray()) }))
            {
                _queue.Release(chunk.Length); // abandoned meanwhile
                return;
            }

            bytes = bytes.Slice(chunk.End);
        }
    }

    /// <summary>Ends the copy with <paramref name="last"/> (request_end or half_close); nothing when it has ended or been dropped.</summary>
    public void End(ServeServerMessage last)
    {
        if (Interlocked.CompareExchange(ref _state, Ended, Open) == Open)
        {
            _messages.Writer.TryWrite(last);
            _messages.Writer.TryComplete();
        }
    }

    /// <summary>Ends a copy that cannot be complete (the original request's body was not read to its end): <c>error</c>, not counted as a drop.</summary>
    public void Fail(string reason)
    {
        if (Interlocked.CompareExchange(ref _state, Ended, Open) == Open)
        {
            _messages.Writer.TryWrite(new ServeServerMessage { Error = new PosixError { Errno = 104 /* ECONNRESET */, Message = reason } });
            _messages.Writer.TryComplete();
        }
    }

    /// <summary>Releases what a copy no Serve call will send still holds (the session ended, or it was dropped while waiting).</summary>
    public void Abandon()
    {
        var state = Volatile.Read(ref _state);
        while (state is Open or Ended)
        {
            state = Interlocked.CompareExchange(ref _state, Abandoned, state) is var seen && seen == state ? Abandoned : seen;
        }

        _messages.Writer.TryComplete();
        while (_messages.Reader.TryRead(out var message))
        {
            _queue.Release(Cost(message));
        }
    }

    protected override async Task<bool> RunCoreAsync(ServeStreams call, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var answers = DiscardAnswersAsync(call, stop.Token);
        var send = SendAsync(call, stop.Token);
        if (await Task.WhenAny(send, answers).ConfigureAwait(false) == answers && !await answers.ConfigureAwait(false))
        {
            // The session gave up (its app is not there, or the call ended): nothing more to send.
            await stop.CancelAsync().ConfigureAwait(false);
        }

        var sent = await send.ConfigureAwait(false);
        if (!sent)
        {
            await stop.CancelAsync().ConfigureAwait(false);
        }

        // The call carries more work only after a whole request and the session's whole (discarded) answer.
        var answered = await answers.ConfigureAwait(false);
        return _http && sent && answered;
    }

    // copy --messages--> session; true when every message of a copy that was not dropped was written.
    private async Task<bool> SendAsync(ServeStreams call, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var message in _messages.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    await call.WriteAsync(message, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    _queue.Release(Cost(message));
                }
            }

            return !IsDropped;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
        {
            Abandon();
            return false;
        }
    }

    protected override Task FailCoreAsync(string reason)
    {
        Abandon();
        return Task.CompletedTask;
    }

    private static long Cost(ServeServerMessage message) => message.MessageCase switch
    {
        ServeServerMessage.MessageOneofCase.Data => message.Data.Length,
        ServeServerMessage.MessageOneofCase.RequestHead or ServeServerMessage.MessageOneofCase.TcpOpen => MirrorQueue.HeadCost,
        _ => 0,
    };

    private void Drop(long bytes)
    {
        if (Interlocked.CompareExchange(ref _state, Dropped, Open) != Open)
        {
            return;
        }

        _queue.CountDrop(_port, 1, bytes);
        while (_messages.Reader.TryRead(out var message))
        {
            _queue.Release(Cost(message));
            if (message.MessageCase == ServeServerMessage.MessageOneofCase.Data)
            {
                _queue.CountDrop(_port, 0, message.Data.Length);
            }
        }

        _messages.Writer.TryWrite(new ServeServerMessage { Error = new PosixError { Errno = 105 /* ENOBUFS */, Message = "the mirror copy was dropped: this session's queue at the agent is full" } });
        _messages.Writer.TryComplete();
    }

    // session --answers--> nowhere; true when an HTTP answer ended cleanly (response_end).
    private async Task<bool> DiscardAnswersAsync(ServeStreams call, CancellationToken cancellationToken)
    {
        try
        {
            while (await call.Requests.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                switch (call.Requests.Current.MessageCase)
                {
                    case ServeClientMessage.MessageOneofCase.ResponseEnd when _http:
                    case ServeClientMessage.MessageOneofCase.ResponseHead when _http && call.Requests.Current.ResponseHead.End is not null:
                        return true;
                    case ServeClientMessage.MessageOneofCase.Error:
                        return false;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
        {
            // the call or the session ended
        }

        return false;
    }
}
