using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Doppel.Protocol;
using Doppel.Protocol.V1;
using Doppel.Session.Agent;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Doppel.Session.Remote;

/// <summary>
/// The loopback stand-in for one UDP destination. Datagrams from each app source open (once) a
/// flow at the agent connected to the destination; what the flow receives is sent back to that
/// source from this socket. Flows idle for <see cref="IdleTimeout"/> are closed; a flow whose call
/// fails (the agent went away) is dropped and the next datagram opens a new one. For a nameserver
/// (port 53) with a DNS filter, each query goes by the name it asks: to the agent, or to the
/// developer's nameserver (<see cref="LocalDnsFlow"/>).
/// </summary>
internal sealed class UdpRelay : IAsyncDisposable
{
    /// <summary>A flow with no datagram either way for this long is closed.</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(60);

    private readonly RelayLanes _lanes;
    private readonly IPEndPoint _destination;
    private readonly ILogger _logger;
    private readonly Socket _socket;
    private readonly CancellationTokenSource _stop;
    private readonly ConcurrentDictionary<IPEndPoint, Flow> _flows = new();
    private readonly ConcurrentDictionary<IPEndPoint, LocalDnsFlow> _localDns = new();
    private readonly DnsRouting? _dns;
    private readonly Task _receiving;
    private readonly Timer _sweeper;

    private UdpRelay(RelayLanes lanes, IPEndPoint destination, DnsRouting? dns, ILogger logger, CancellationToken closing)
    {
        _lanes = lanes;
        _destination = destination;
        _dns = dns;
        _logger = logger;
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(closing);
        _receiving = ReceiveFromAppAsync();
        _sweeper = new Timer(_ => Sweep(), null, IdleTimeout / 4, IdleTimeout / 4);
    }

    public IPEndPoint LocalEndPoint { get; }

    /// <param name="dns">How DNS queries are steered; used only when the destination's port is 53.</param>
    public static UdpRelay Start(RelayLanes lanes, IPEndPoint destination, DnsRouting? dns, ILogger logger, CancellationToken closing) =>
        new(lanes, destination, destination.Port == 53 && dns is { Steering.IsFiltered: true } ? dns : null, logger, closing);

    public async ValueTask DisposeAsync()
    {
        await _sweeper.DisposeAsync().ConfigureAwait(false);
        await _stop.CancelAsync().ConfigureAwait(false);
        _socket.Dispose();
        try
        {
            await _receiving.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        foreach (var flow in _flows.Values)
        {
            flow.Close();
        }

        foreach (var flow in _localDns.Values)
        {
            flow.Dispose();
        }

        _stop.Dispose();
    }

    private async Task ReceiveFromAppAsync()
    {
        var buffer = GC.AllocateUninitializedArray<byte>(65_536);
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token).ConfigureAwait(false);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
                continue; // an ICMP error for an earlier reply to a socket that has gone
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            var source = (IPEndPoint)received.RemoteEndPoint;
            if (_dns is { } dns && dns.Steering.ResolvesLocally(DnsQueryName.TryRead(buffer.AsSpan(0, received.ReceivedBytes))))
            {
                var local = _localDns.GetOrAdd(source, s => new LocalDnsFlow(_socket, s, dns.LocalNameserver, _logger, _stop.Token));
                if (!await local.SendAsync(buffer.AsMemory(0, received.ReceivedBytes)).ConfigureAwait(false))
                {
                    _localDns.TryRemove(new KeyValuePair<IPEndPoint, LocalDnsFlow>(source, local));
                    local.Dispose();
                }

                continue;
            }

            var flow = _flows.GetOrAdd(source, s => new Flow(this, s));
            if (!await flow.SendAsync(buffer.AsMemory(0, received.ReceivedBytes)).ConfigureAwait(false))
            {
                _flows.TryRemove(new KeyValuePair<IPEndPoint, Flow>(source, flow));
                flow.Close();
            }
        }
    }

    private void Sweep()
    {
        var now = Environment.TickCount64;
        foreach (var (source, flow) in _flows)
        {
            if (now - flow.LastActivity > IdleTimeout.TotalMilliseconds && _flows.TryRemove(new KeyValuePair<IPEndPoint, Flow>(source, flow)))
            {
                flow.Close();
            }
        }

        foreach (var (source, flow) in _localDns)
        {
            if (now - flow.LastActivity > IdleTimeout.TotalMilliseconds && _localDns.TryRemove(new KeyValuePair<IPEndPoint, LocalDnsFlow>(source, flow)))
            {
                flow.Dispose();
            }
        }
    }

    /// <summary>One app source's flow at the agent.</summary>
    private sealed class Flow
    {
        private readonly UdpRelay _relay;
        private readonly IPEndPoint _source;
        private readonly CancellationTokenSource _cancel;
        private readonly AsyncDuplexStreamingCall<UdpClientMessage, UdpServerMessage> _call;
        private readonly RelayLanes.Lease _lane;
        private bool _opened;

        public Flow(UdpRelay relay, IPEndPoint source)
        {
            _relay = relay;
            _source = source;
            _cancel = CancellationTokenSource.CreateLinkedTokenSource(relay._stop.Token);
            _lane = relay._lanes.Take();
            _call = _lane.Client.OpenUdp(cancellationToken: _cancel.Token);
            LastActivity = Environment.TickCount64;
        }

        public long LastActivity { get; private set; }

        /// <summary>
        /// Sends one datagram (opening the flow first); false when the flow is broken. Called only
        /// from the relay's receive loop, one at a time, as a call's request stream requires.
        /// </summary>
        public async Task<bool> SendAsync(ReadOnlyMemory<byte> datagram)
        {
            LastActivity = Environment.TickCount64;
            try
            {
                if (!_opened)
                {
                    var family = _relay._destination.AddressFamily == AddressFamily.InterNetworkV6 ? IpFamily.V6 : IpFamily.V4;
                    await _call.RequestStream.WriteAsync(new UdpClientMessage { Open = new UdpOpen { Family = family, Destination = SockAddr.FromIPEndPoint(_relay._destination) } }, _cancel.Token).ConfigureAwait(false);
                    _opened = true;
                    _ = ReceiveAsync();
                }

                // Copied: the receive buffer is reused for the next datagram before the call sends this one.
                await _call.RequestStream.WriteAsync(new UdpClientMessage { Datagram = new UdpDatagram { Data = Google.Protobuf.ByteString.CopyFrom(datagram.Span) } }, _cancel.Token).ConfigureAwait(false);
                return true;
            }
            catch (Exception e) when (e is RpcException or OperationCanceledException or InvalidOperationException)
            {
                _relay._logger.LogDebug("UDP flow {Source} → {Destination} failed: {Reason}", _source, _relay._destination, e.Message);
                return false;
            }
        }

        public void Close()
        {
            try
            {
                _cancel.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }

            _call.Dispose();
            _lane.Dispose();
        }

        private async Task ReceiveAsync()
        {
            try
            {
                while (await _call.ResponseStream.MoveNext(_cancel.Token).ConfigureAwait(false))
                {
                    var message = _call.ResponseStream.Current;
                    switch (message.MessageCase)
                    {
                        case UdpServerMessage.MessageOneofCase.Datagram:
                            LastActivity = Environment.TickCount64;
                            await _relay._socket.SendToAsync(message.Datagram.Data.Memory, SocketFlags.None, _source, _cancel.Token).ConfigureAwait(false);
                            break;
                        case UdpServerMessage.MessageOneofCase.OpenResult when message.OpenResult.Error is { } error:
                            _relay._logger.LogDebug("agent could not open UDP to {Destination}: {Errno} {Message}", _relay._destination, error.Errno, error.Message);
                            break;
                        case UdpServerMessage.MessageOneofCase.Error:
                            _relay._logger.LogDebug("UDP to {Destination}: {Errno} {Message}", _relay._destination, message.Error.Errno, message.Error.Message);
                            break;
                    }
                }
            }
            catch (Exception e) when (e is RpcException or OperationCanceledException or SocketException or ObjectDisposedException)
            {
                _relay._logger.LogDebug("UDP flow {Source} → {Destination} ended: {Reason}", _source, _relay._destination, e.Message);
            }
            finally
            {
                _relay._flows.TryRemove(new KeyValuePair<IPEndPoint, Flow>(_source, this));
                Close();
            }
        }
    }
}
