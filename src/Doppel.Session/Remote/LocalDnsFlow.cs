using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Doppel.Session.Remote;

/// <summary>
/// The queries of one app socket that the DNS filter keeps local: sent from a socket of doppel's
/// own to the developer's nameserver; each answer goes back to the app from the relay's socket, so
/// the app sees it come from the nameserver it asked.
/// <code>
///   app ──query──► relay 127.0.0.1:R ──► this socket ──► developer's nameserver
///   app ◄─answer── relay 127.0.0.1:R ◄── this socket ◄──┘
/// </code>
/// </summary>
internal sealed class LocalDnsFlow : IDisposable
{
    private readonly Socket _relay;
    private readonly IPEndPoint _source;
    private readonly ILogger _logger;
    private readonly Socket _socket;
    private readonly CancellationTokenSource _cancel;
    private readonly TimeProvider _time;
    private long _lastActivity;

    private LocalDnsFlow(Socket relay, IPEndPoint source, IPEndPoint nameserver, TimeProvider time, ILogger logger, CancellationToken closing)
    {
        _time = time;
        _relay = relay;
        _source = source;
        _logger = logger;

        // Sends never wait (the relay's shared receive loop makes them): a full buffer drops the query.
        _socket = new Socket(nameserver.AddressFamily, SocketType.Dgram, ProtocolType.Udp) { Blocking = false };
        _socket.Connect(nameserver);
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(closing);
        _lastActivity = time.GetTimestamp();
    }

    /// <summary>The last query or answer (a <see cref="TimeProvider.GetTimestamp"/> of the relay's clock).</summary>
    public long LastActivity => Volatile.Read(ref _lastActivity);

    /// <summary>A flow whose receive loop runs under <paramref name="tasks"/>; it disposes its token source when that loop ends.</summary>
    public static LocalDnsFlow Start(Socket relay, IPEndPoint source, IPEndPoint nameserver, BackgroundTasks tasks, TimeProvider time, ILogger logger, CancellationToken closing)
    {
        var flow = new LocalDnsFlow(relay, source, nameserver, time, logger, closing);
        tasks.Run($"local DNS flow of {source}", flow.ReceiveAsync);
        return flow;
    }

    /// <summary>Sends one query to the developer's nameserver without waiting; false when the socket is broken.</summary>
    public bool Send(ReadOnlySpan<byte> query)
    {
        Volatile.Write(ref _lastActivity, _time.GetTimestamp());
        try
        {
            _socket.Send(query);
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.NoBufferSpaceAvailable)
        {
            return true; // dropped; the app's resolver asks again
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            RemoteLog.LocalDnsQueryFailed(_logger, _source, e.Message);
            return false;
        }
    }

    /// <summary>Ends the flow; its receive loop then ends and releases the token source.</summary>
    public void Dispose()
    {
        try
        {
            _cancel.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }

        _socket.Dispose();
    }

    private async Task ReceiveAsync()
    {
        var buffer = GC.AllocateUninitializedArray<byte>(65_536);
        try
        {
            while (!_cancel.IsCancellationRequested)
            {
                int read;
                try
                {
                    read = await _socket.ReceiveAsync(buffer, SocketFlags.None, _cancel.Token).ConfigureAwait(false);
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
                {
                    continue; // no server there (an ICMP error); the app's resolver times out and tries again
                }

                Volatile.Write(ref _lastActivity, _time.GetTimestamp());
                await _relay.SendToAsync(buffer.AsMemory(0, read), SocketFlags.None, _source, _cancel.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            RemoteLog.LocalDnsFlowEnded(_logger, _source, e.Message);
        }
        finally
        {
            _socket.Dispose();
            _cancel.Dispose();
        }
    }
}
