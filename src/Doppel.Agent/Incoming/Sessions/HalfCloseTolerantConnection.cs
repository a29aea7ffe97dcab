using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Doppel.Linux.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;

namespace Doppel.Agent.Incoming;

/// <summary>
/// A redirected connection as the front's HTTP pipelines see it: the transport's own in every
/// respect but two, both for a client that only half-closes (sends its FIN after the request and
/// waits for the answer, as busybox <c>nc</c>, <c>printf … | nc</c> scripts and some HTTP/1.0
/// clients do): <see cref="ConnectionClosed"/> does not fire for the FIN, and the input reports
/// its end only once its reader has examined every byte before it.
/// </summary>
/// <remarks>
/// Kestrel takes any end of a connection's input for the client gone: the transport fires
/// <c>ConnectionClosed</c>, and the HTTP/1 pipeline aborts its output and the request
/// (dotnet/aspnetcore#13188), so such a client got an empty answer from every pod doppel had
/// redirected, while the pod's own server answered it (RFC 9112 §9.6: a half-closed connection
/// does not mean the client lost interest). Here the transport's event is passed on only when
/// the socket is not in TCP_CLOSE_WAIT (tcpi_state of TCP_INFO), that is when the client reset
/// the connection or it broke; a FIN alone leaves the request running, its answer is written,
/// and the pipeline then ends the connection on the finished input as usual. A client that
/// half-closes and later goes away unseen is noticed at the next write.
/// <para>Kestrel's request-body readers also take a read whose result is completed for an early
/// end (<c>Http1ContentLengthMessageBody</c> checks <c>IsCompleted</c> before it counts the
/// bytes), so a body that arrived together with the FIN failed as "Unexpected end of request
/// content"; <see cref="LateEndReader"/> hides the end until the bytes before it were examined.</para>
/// </remarks>
internal sealed class HalfCloseTolerantConnection : ConnectionContext
{
    private readonly ConnectionContext _inner;
    private readonly CancellationTokenSource _closed = new();
    private readonly CancellationTokenRegistration _registration;
    private IDuplexPipe _transport;

    /// <summary>Wraps <paramref name="inner"/>, whose socket is <paramref name="socket"/> (the state is read from it).</summary>
    public HalfCloseTolerantConnection(ConnectionContext inner, Socket socket)
    {
        _inner = inner;
        _transport = new Pipe(new LateEndReader(inner.Transport.Input), inner.Transport.Output);
        _registration = inner.ConnectionClosed.Register(() =>
        {
            if (SocketCalls.GetTcpState(socket.SafeHandle) != SocketCalls.TcpCloseWait)
            {
                Close();
            }
        });
    }

    public override string ConnectionId
    {
        get => _inner.ConnectionId;
        set => _inner.ConnectionId = value;
    }

    public override IFeatureCollection Features => _inner.Features;

    public override IDictionary<object, object?> Items
    {
        get => _inner.Items;
        set => _inner.Items = value;
    }

    public override IDuplexPipe Transport
    {
        get => _transport;
        set => _transport = value;
    }

    public override CancellationToken ConnectionClosed
    {
        get => _closed.Token;
        set => throw new NotSupportedException("The connection's closed token is its own.");
    }

    public override EndPoint? LocalEndPoint
    {
        get => _inner.LocalEndPoint;
        set => _inner.LocalEndPoint = value;
    }

    public override EndPoint? RemoteEndPoint
    {
        get => _inner.RemoteEndPoint;
        set => _inner.RemoteEndPoint = value;
    }

    public override void Abort(ConnectionAbortedException abortReason)
    {
        _inner.Abort(abortReason);
        Close();
    }

    public override void Abort() => Abort(new ConnectionAbortedException("The connection was aborted by the application."));

    public override async ValueTask DisposeAsync()
    {
        await _registration.DisposeAsync().ConfigureAwait(false);
        _closed.Dispose();
        await base.DisposeAsync().ConfigureAwait(false); // the inner connection is Kestrel's to dispose
    }

    private void Close()
    {
        try
        {
            _closed.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // disposed meanwhile: nobody listens any more
        }
    }

    private sealed record Pipe(PipeReader Input, PipeWriter Output) : IDuplexPipe;

    /// <summary>
    /// A reader that passes <c>IsCompleted</c> (the end of the client's sending, without error)
    /// on only with an empty buffer or once the previous result's buffer was examined to its end:
    /// until then the bytes are offered as if more could follow.
    /// </summary>
    private sealed class LateEndReader(PipeReader inner) : PipeReader
    {
        private SequencePosition? _hiddenEnd; // the end of the last buffer offered without its completion
        private bool _examinedAll;

        public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
            => Offer(await inner.ReadAsync(cancellationToken).ConfigureAwait(false));

        public override bool TryRead(out ReadResult result)
        {
            if (!inner.TryRead(out result))
            {
                return false;
            }

            result = Offer(result);
            return true;
        }

        public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
        {
            _examinedAll = _hiddenEnd is { } end && examined.Equals(end);
            _hiddenEnd = null;
            inner.AdvanceTo(consumed, examined);
        }

        public override void CancelPendingRead() => inner.CancelPendingRead();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);

        private ReadResult Offer(ReadResult result)
        {
            if (!result.IsCompleted || result.Buffer.IsEmpty || _examinedAll)
            {
                return result;
            }

            _hiddenEnd = result.Buffer.End;
            return new ReadResult(result.Buffer, result.IsCanceled, isCompleted: false);
        }
    }
}
