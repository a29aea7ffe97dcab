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

    public LocalDnsFlow(Socket relay, IPEndPoint source, IPEndPoint nameserver, ILogger logger, CancellationToken closing)
    {
        _relay = relay;
        _source = source;
        _logger = logger;
        _socket = new Socket(nameserver.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        _socket.Connect(nameserver);
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(closing);
        LastActivity = Environment.TickCount64;
        _ = ReceiveAsync();
    }

    public long LastActivity { get; private set; }

    /// <summary>Sends one query to the developer's nameserver; false when the socket is broken.</summary>
    public async Task<bool> SendAsync(ReadOnlyMemory<byte> query)
    {
        LastActivity = Environment.TickCount64;
        try
        {
            await _socket.SendAsync(query, SocketFlags.None, _cancel.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            _logger.LogDebug("local DNS query from {Source} failed: {Reason}", _source, e.Message);
            return false;
        }
    }

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
        _cancel.Dispose();
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

                LastActivity = Environment.TickCount64;
                await _relay.SendToAsync(buffer.AsMemory(0, read), SocketFlags.None, _source, _cancel.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            _logger.LogDebug("local DNS flow of {Source} ended: {Reason}", _source, e.Message);
        }
    }
}
