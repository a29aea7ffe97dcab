using Doppel.Protocol.V1;
using Google.Protobuf;
using Grpc.Core;

namespace Doppel.Session.Incoming;

/// <summary>
/// A stolen request's body as the <see cref="HttpContent"/> of its replay: read from the Serve
/// call chunk by chunk while the app reads it (never buffered whole), each chunk flushed so
/// streaming calls (gRPC) move at once. The Serve call's reader has one user at a time: this
/// content while the handler sends it, then <see cref="FinishAsync"/>, which reads on to
/// <c>request_end</c> so the call is ready for its next work.
/// </summary>
internal sealed class ServeRequestContent(IAsyncStreamReader<ServeServerMessage> reader) : HttpContent
{
    /// <summary>A request that came whole in its request_head: <paramref name="body"/> is all of it; nothing more is read from the call.</summary>
    public ServeRequestContent(IAsyncStreamReader<ServeServerMessage> reader, ByteString body)
        : this(reader)
    {
        _whole = body;
        _ended = true;
    }

    private const int NotStarted = 0;
    private const int Sending = 1;
    private const int Closed = 2;

    private TaskCompletionSource _sent = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ByteString? _whole;
    private int _state;
    private bool _ended;

    /// <summary>
    /// Waits until the handler has stopped sending the body (when it started), then reads and
    /// discards what is left up to <c>request_end</c>. False when the client went away or the
    /// call ended first (the call cannot carry more work).
    /// </summary>
    public async Task<bool> FinishAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _state, Closed, NotStarted) != NotStarted)
        {
            await _sent.Task.ConfigureAwait(false);
        }

        while (!_ended)
        {
            if (!await reader.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                return false;
            }

            switch (reader.Current.MessageCase)
            {
                case ServeServerMessage.MessageOneofCase.RequestEnd:
                    _ended = true;
                    break;
                case ServeServerMessage.MessageOneofCase.Data:
                    break;
                default:
                    return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Makes the body ready to be sent again after a send that failed (the app refused h2c, so the
    /// request goes again over HTTP/1.1): true for a whole request (its bytes are at hand; waits
    /// until the failed send has stopped writing them) and for a body of which nothing has been
    /// read from the call yet; false for a streamed body already partly read (those bytes are gone).
    /// </summary>
    public async Task<bool> TryRewindAsync()
    {
        var state = Volatile.Read(ref _state);
        if (state == NotStarted)
        {
            return true;
        }

        if (_whole is null || state != Sending)
        {
            return false;
        }

        await _sent.Task.ConfigureAwait(false);
        _sent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _state, NotStarted);
        return true;
    }

    protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context, CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _state, Sending, NotStarted) != NotStarted)
        {
            throw new InvalidOperationException("the request body was already read");
        }

        try
        {
            if (_whole is not null)
            {
                await stream.WriteAsync(_whole.Memory, cancellationToken).ConfigureAwait(false);
                return;
            }

            while (await reader.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                var message = reader.Current;
                switch (message.MessageCase)
                {
                    case ServeServerMessage.MessageOneofCase.Data:
                        await stream.WriteAsync(message.Data.Memory, cancellationToken).ConfigureAwait(false);
                        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                        break;
                    case ServeServerMessage.MessageOneofCase.RequestEnd:
                        // Request trailers are not replayed: HttpClient cannot send them.
                        _ended = true;
                        return;
                    case ServeServerMessage.MessageOneofCase.Error:
                        throw new IOException($"the client went away: {message.Error.Message}");
                    default:
                        throw new IOException($"the agent sent {message.MessageCase} inside a request body");
                }
            }

            throw new IOException("the Serve call ended inside the request body");
        }
        finally
        {
            _sent.TrySetResult();
        }
    }

    protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override bool TryComputeLength(out long length)
    {
        length = _whole?.Length ?? -1;
        return _whole is not null;
    }
}
