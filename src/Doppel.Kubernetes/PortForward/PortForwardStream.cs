using System.Buffers.Binary;
using System.Net.WebSockets;
using System.Text;

namespace Doppel.Kubernetes.PortForward;

/// <summary>
/// One port-forward WebSocket (<c>v4.channel.k8s.io</c>, one port) as a duplex byte stream.
/// <code>
///   ReadAsync  ◀── [0][data…] ◀──┐
///              ◀── [1][error…] ◀─┤ WebSocket ◀── API server ◀── pod:PORT
///   WriteAsync ──▶ [0][data…]  ──▶ WebSocket ──▶ API server ──▶ pod:PORT
/// </code>
/// Reads pull: a message is received only when the caller reads, into one
/// <see cref="ChunkSize"/>-byte buffer (the bound: nothing is queued beyond it, so a slow reader
/// slows the pod's sender through the WebSocket's TCP window; no thread waits for a stream).
/// Writes are cut into messages of at most <see cref="ChunkSize"/> bytes. An error-channel message
/// (the kubelet's "… connection refused") makes reads and writes throw IOException with its text;
/// the WebSocket's close or failure ends reads (0, or IOException when it broke).
/// The protocol has no half-close: the pod's side ends the whole stream when either direction of
/// its connection ends, and ours can only close all of it (<see cref="Dispose(bool)"/>).
/// One read and one write may run at once, as with a socket.
/// </summary>
internal sealed class PortForwardStream : Stream
{
    /// <summary>The largest payload of one message, each way.</summary>
    public const int ChunkSize = 64 * 1024;

    private const byte DataChannel = 0;
    private const byte ErrorChannel = 1;

    private readonly WebSocket _socket;
    private readonly int _port;
    private readonly string _address;
    private readonly Action<PortForwardStream> _closed;

    // pod --data--> caller: the current message's received bytes not yet read, _receive[_start.._end).
    private readonly byte[] _receive = new byte[ChunkSize + 1];
    private int _start;
    private int _end;

    // Where the current message goes: -1 between messages, else its channel.
    private int _channel = -1;

    // The port prefix still expected on each channel (2 bytes each, first thing the server sends).
    private int _dataPrefix = 2;
    private int _errorPrefix = 2;
    private readonly byte[] _prefix = new byte[2];

    private readonly MemoryStream _errorText = new();
    private string? _error;
    private bool _ended;

    // caller --data--> pod: one message being built.
    private readonly byte[] _send = new byte[ChunkSize + 1];
    private int _disposed;

    public PortForwardStream(WebSocket socket, int port, string address, Action<PortForwardStream> closed)
    {
        _socket = socket;
        _port = port;
        _address = address;
        _closed = closed;
    }

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>
    /// Receives until the data channel's port prefix has come (the server sends it right after the
    /// upgrade); throws IOException when the socket ends first or the prefix names another port.
    /// </summary>
    public async ValueTask ReadPortPrefixAsync(CancellationToken cancellationToken)
    {
        while (_dataPrefix > 0)
        {
            if (!await ReceiveAsync(cancellationToken).ConfigureAwait(false))
            {
                throw new IOException($"The port-forward to {_address} ended before it started: {_error ?? "the API server closed the WebSocket."}");
            }
        }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (buffer.Length == 0)
        {
            return 0;
        }

        while (_start == _end)
        {
            if (!await ReceiveAsync(cancellationToken).ConfigureAwait(false))
            {
                return 0;
            }
        }

        var count = Math.Min(buffer.Length, _end - _start);
        _receive.AsSpan(_start, count).CopyTo(buffer.Span);
        _start += count;
        return count;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count)
        => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        ThrowIfFailed();
        while (buffer.Length > 0)
        {
            var count = Math.Min(buffer.Length, ChunkSize);
            _send[0] = DataChannel;
            buffer.Span[..count].CopyTo(_send.AsSpan(1));
            try
            {
                await _socket.SendAsync(_send.AsMemory(0, count + 1), WebSocketMessageType.Binary, endOfMessage: true, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is WebSocketException or ObjectDisposedException or InvalidOperationException or OperationCanceledException or IOException)
            {
                ThrowIfFailed();
                throw new IOException($"The port-forward to {_address} broke: {KubeApi.Innermost(e)}", e);
            }

            buffer = buffer[count..];
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count)
        => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    /// <summary>Nothing to flush: every write is one or more sent messages.</summary>
    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>
    /// Receives one WebSocket frame's worth into <see cref="_receive"/>: data goes to
    /// [_start, _end), port prefixes are checked, error text collected. False at the socket's end
    /// (close message); IOException when it broke or an error message completed.
    /// </summary>
    private async ValueTask<bool> ReceiveAsync(CancellationToken cancellationToken)
    {
        ThrowIfFailed();
        if (_ended)
        {
            return false;
        }

        ValueWebSocketReceiveResult result;
        try
        {
            result = await _socket.ReceiveAsync(_receive.AsMemory(), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is WebSocketException or ObjectDisposedException or InvalidOperationException or OperationCanceledException or IOException)
        {
            ThrowIfFailed();
            throw new IOException($"The port-forward to {_address} broke: {KubeApi.Innermost(e)}", e);
        }

        if (result.MessageType == WebSocketMessageType.Close)
        {
            _ended = true;
            ThrowIfFailed();
            return false;
        }

        var payload = _receive.AsSpan(0, result.Count);
        if (_channel < 0 && payload.Length > 0)
        {
            _channel = payload[0];
            payload = payload[1..];
            _start = 1;
        }
        else
        {
            _start = 0;
        }

        switch (_channel)
        {
            case DataChannel:
                var skip = TakePrefix(ref _dataPrefix, payload);
                _start += skip;
                _end = _start + payload.Length - skip;
                break;
            case ErrorChannel:
                skip = TakePrefix(ref _errorPrefix, payload);
                _errorText.Write(payload[skip..]);
                _end = _start;
                break;
            default:
                // Another port's channels: there are none (one port per WebSocket).
                _end = _start;
                break;
        }

        if (result.EndOfMessage)
        {
            if (_channel == ErrorChannel && _errorText.Length > 0)
            {
                _error = Encoding.UTF8.GetString(_errorText.GetBuffer(), 0, (int)_errorText.Length).Trim();
                ThrowIfFailed();
            }

            _channel = -1;
        }

        return true;
    }

    /// <summary>Consumes what is left of a channel's 2-byte port prefix from the front of PAYLOAD; returns how many bytes it took.</summary>
    private int TakePrefix(ref int remaining, ReadOnlySpan<byte> payload)
    {
        var take = Math.Min(remaining, payload.Length);
        if (take == 0)
        {
            return 0;
        }

        payload[..take].CopyTo(_prefix.AsSpan(2 - remaining));
        remaining -= take;
        if (remaining == 0 && BinaryPrimitives.ReadUInt16LittleEndian(_prefix) != _port)
        {
            _error = $"the API server's port prefix names port {BinaryPrimitives.ReadUInt16LittleEndian(_prefix)}, not {_port}.";
            ThrowIfFailed();
        }

        return take;
    }

    private void ThrowIfFailed()
    {
        if (_error is not null)
        {
            throw new IOException($"The port-forward to {_address} failed: {_error}");
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            // Abort: the server sees the connection end and closes the pod-side connection.
            _socket.Abort();
            _socket.Dispose();
            Release();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            if (_socket.State == WebSocketState.Open)
            {
                // A close handshake ends the stream cleanly for the API server; don't wait long for it.
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                try
                {
                    await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
                {
                    // Broken or busy: the abort below ends it.
                }
            }

            _socket.Abort();
            _socket.Dispose();
            Release();
        }

        await base.DisposeAsync().ConfigureAwait(false);
    }

    private void Release()
    {
        _closed(this);
    }
}
