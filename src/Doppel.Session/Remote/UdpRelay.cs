using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Doppel.Interception.Remote;
using Doppel.Linux.Native;
using Doppel.Protocol;
using Doppel.Protocol.V1;
using Doppel.Session.Agent;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Doppel.Session.Remote;

/// <summary>
/// The loopback stand-in for one UDP destination. Datagrams from each app source open (once) a
/// flow at the agent connected to the destination; what the flow receives is sent back to that
/// source from this socket. Flows idle for <see cref="IdleTimeout"/> are closed (a sweep every
/// quarter of it, on the relay's <see cref="TimeProvider"/>: the system's, or a test's fake clock); a flow whose call
/// fails (the agent went away) is dropped and the next datagram opens a new one. For a nameserver
/// (port 53) with a DNS filter, each query goes by the name it asks: to the agent, or to the
/// developer's nameserver (<see cref="LocalDnsFlow"/>).
/// <para>
/// The receive loop is shared by every flow, so it never waits for one: it queues each datagram
/// on its flow (dropped when that queue is full, as a congested network drops it), and each flow
/// writes to its call from its own task. Every flow task is owned (<see cref="BackgroundTasks"/>):
/// dispose waits for them, and each flow disposes its cancellation source when its tasks end.
/// <code>
///   app ──datagram──► receive loop ──TryWrite──► flow queue ──► send loop ──► call ──► agent
///   app ◄──datagram── stand-in socket ◄──────────────────────── receive task ◄── call ◄──┘
/// </code>
/// </para>
/// <para>
/// A stand-in of one connected app socket (<see cref="StartFor"/>) also hands that socket the
/// ECONNREFUSED the agent's connected socket got from the pod (an ICMP port unreachable): for a
/// moment this socket is connected to itself, so that the app's port matches no socket here, and
/// an empty datagram from the app's own socket makes the loopback kernel answer with its own ICMP
/// port unreachable, which sets the error on the app's socket as in the pod.
/// <code>
///   pod ──ICMP──► agent socket: ECONNREFUSED ──error──► Flow ──► connect(self); send(app socket, ""); send(witness, "")
///   app: recv/send ◄── ECONNREFUSED ◄── kernel ICMP (127.0.0.1:stand-in unreachable) ◄──┘  witness refused: connect(app)
/// </code>
/// </para>
/// </summary>
internal sealed class UdpRelay : IAsyncDisposable
{
    /// <summary>A flow with no datagram either way for this long is closed.</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Datagrams a flow holds while its call cannot take them; more are dropped.</summary>
    public const int FlowQueueLength = 256;

    // The longest the stand-in stays unmatched waiting for the kernel's ICMP answers (they are
    // usually there when the sends return). Datagrams the app sends meanwhile are refused too, as
    // the pod's closed port would have.
    private static readonly TimeSpan RefusalWait = TimeSpan.FromMilliseconds(50);

    private readonly RelayLanes _lanes;
    private readonly IPEndPoint _destination;
    private readonly ILogger _logger;
    private readonly Socket _socket;
    private readonly CancellationTokenSource _stop;
    private readonly ConcurrentDictionary<IPEndPoint, Flow> _flows = new();
    private readonly ConcurrentDictionary<IPEndPoint, LocalDnsFlow> _localDns = new();
    private readonly DnsRouting? _dns;
    private readonly BackgroundTasks _tasks;
    private readonly TimeProvider _time;
    private readonly ITimer _sweeper;
    private readonly IConnectedUdpSocket? _app;
    private readonly Lock _refusing = new();

    private UdpRelay(RelayLanes lanes, IPEndPoint destination, DnsRouting? dns, TimeProvider time, ILogger logger, IConnectedUdpSocket? app, CancellationToken closing)
    {
        _time = time;
        Created = time.GetTimestamp();
        _lanes = lanes;
        _destination = destination;
        _dns = dns;
        _logger = logger;
        _app = app;
        _socket = LoopbackSocket.Bind(SocketType.Dgram, ProtocolType.Udp);
        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(closing);
        _tasks = new BackgroundTasks(logger);
        _tasks.Run($"UDP stand-in for {destination}", ReceiveFromAppAsync);
        _sweeper = time.CreateTimer(_ => Sweep(), null, IdleTimeout / 4, IdleTimeout / 4);
    }

    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Tasks running: the receive loop and each flow's.</summary>
    public int Running => _tasks.Count;

    /// <summary>When this stand-in was made (a <see cref="TimeProvider.GetTimestamp"/> of its clock).</summary>
    public long Created { get; }

    /// <summary>The app socket of a stand-in from <see cref="StartFor"/>; null for a shared one.</summary>
    public IConnectedUdpSocket? App => _app;

    /// <summary>A stand-in shared by every app socket that sends to <paramref name="destination"/>.</summary>
    /// <param name="dns">How DNS queries are steered; used only when the destination's port is 53.</param>
    /// <param name="time">The clock of idle flows.</param>
    public static UdpRelay Start(RelayLanes lanes, IPEndPoint destination, DnsRouting? dns, TimeProvider time, ILogger logger, CancellationToken closing) =>
        new(lanes, destination, DnsFor(destination, dns), time, logger, null, closing);

    /// <summary>The stand-in of one connected app socket, which it owns and disposes.</summary>
    /// <param name="dns">How DNS queries are steered; used only when the destination's port is 53.</param>
    /// <param name="time">The clock of idle flows.</param>
    public static UdpRelay StartFor(RelayLanes lanes, IPEndPoint destination, IConnectedUdpSocket app, DnsRouting? dns, TimeProvider time, ILogger logger, CancellationToken closing) =>
        new(lanes, destination, DnsFor(destination, dns), time, logger, app, closing);

    private static DnsRouting? DnsFor(IPEndPoint destination, DnsRouting? dns) =>
        destination.Port == 53 && dns is { Steering.IsFiltered: true } ? dns : null;

    public async ValueTask DisposeAsync()
    {
        await _sweeper.DisposeAsync().ConfigureAwait(false);
        await _stop.CancelAsync().ConfigureAwait(false);
        _socket.Dispose();
        foreach (var flow in _flows.Values)
        {
            flow.Close();
        }

        foreach (var flow in _localDns.Values)
        {
            flow.Dispose();
        }

        // The receive loop ends on the cancelled token; the flows' tasks end on theirs.
        await _tasks.WhenAllAsync().ConfigureAwait(false);
        _stop.Dispose();
        _app?.Dispose();
    }

    /// <summary>
    /// Makes the app's socket see ECONNREFUSED (see the class comment); returns whether the
    /// kernel's answer was seen. A witness socket of ours sends an empty datagram right after the
    /// app's: once its own ECONNREFUSED is there, the app's ICMP has been handled too (loopback
    /// handles them in order, usually before each send returns) and the stand-in can match again.
    /// </summary>
    private bool Refuse(IPEndPoint source)
    {
        if (_app is null)
        {
            return false;
        }

        lock (_refusing)
        {
            try
            {
                using var witness = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                witness.Connect(LocalEndPoint);
                witness.ReceiveTimeout = (int)RefusalWait.TotalMilliseconds;
                _socket.Connect(LocalEndPoint); // no datagram from the app matches this socket now
                try
                {
                    if (!_app.SendEmpty())
                    {
                        return false;
                    }

                    witness.Send(ReadOnlySpan<byte>.Empty);
                    witness.Receive(new byte[1]);
                    return false;
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.TimedOut or SocketError.WouldBlock)
                {
                    return e.SocketErrorCode == SocketError.ConnectionRefused;
                }
                finally
                {
                    _socket.Connect(source);
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return false;
            }
        }
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
                var local = _localDns.GetOrAdd(source, s => LocalDnsFlow.Start(_socket, s, dns.LocalNameserver, _tasks, _time, _logger, _stop.Token));
                if (!local.Send(buffer.AsSpan(0, received.ReceivedBytes)))
                {
                    _localDns.TryRemove(new KeyValuePair<IPEndPoint, LocalDnsFlow>(source, local));
                    local.Dispose();
                }

                continue;
            }

            var flow = _flows.GetOrAdd(source, s => Flow.Start(this, s));
            if (!flow.Queue(buffer.AsSpan(0, received.ReceivedBytes)))
            {
                _flows.TryRemove(new KeyValuePair<IPEndPoint, Flow>(source, flow));
                flow.Close();
            }
        }
    }

    private void Sweep()
    {
        var now = _time.GetTimestamp();
        foreach (var (source, flow) in _flows)
        {
            if (_time.GetElapsedTime(flow.LastActivity, now) > IdleTimeout && _flows.TryRemove(new KeyValuePair<IPEndPoint, Flow>(source, flow)))
            {
                flow.Close();
            }
        }

        foreach (var (source, flow) in _localDns)
        {
            if (_time.GetElapsedTime(flow.LastActivity, now) > IdleTimeout && _localDns.TryRemove(new KeyValuePair<IPEndPoint, LocalDnsFlow>(source, flow)))
            {
                flow.Dispose();
            }
        }
    }

    /// <summary>One app source's flow at the agent: a queue, a send loop and a receive loop.</summary>
    private sealed class Flow
    {
        private readonly UdpRelay _relay;
        private readonly IPEndPoint _source;
        private readonly CancellationTokenSource _cancel;
        private readonly AsyncDuplexStreamingCall<UdpClientMessage, UdpServerMessage> _call;
        private readonly RelayLanes.Lease _lane;

        // receive loop --datagram--> send loop (one writer, one reader; full: dropped)
        private readonly Channel<byte[]> _queue = Channel.CreateBounded<byte[]>(
            new BoundedChannelOptions(FlowQueueLength) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.DropWrite });

        private long _lastActivity;

        private Flow(UdpRelay relay, IPEndPoint source)
        {
            _relay = relay;
            _source = source;
            _cancel = CancellationTokenSource.CreateLinkedTokenSource(relay._stop.Token);
            _lane = relay._lanes.Take();
            _call = _lane.Client.OpenUdp(cancellationToken: _cancel.Token);
            _lastActivity = relay._time.GetTimestamp();
        }

        public long LastActivity => Volatile.Read(ref _lastActivity);

        /// <summary>A flow whose tasks run under the relay's <see cref="BackgroundTasks"/>.</summary>
        public static Flow Start(UdpRelay relay, IPEndPoint source)
        {
            var flow = new Flow(relay, source);
            relay._tasks.Run($"UDP flow {source} → {relay._destination}", flow.RunAsync);
            return flow;
        }

        /// <summary>
        /// Queues one datagram (copied: the receive buffer is reused) without waiting; false when
        /// the flow has ended. A full queue drops the datagram, as a congested network would.
        /// </summary>
        public bool Queue(ReadOnlySpan<byte> datagram)
        {
            Volatile.Write(ref _lastActivity, _relay._time.GetTimestamp());
            if (_queue.Writer.TryWrite(datagram.ToArray()))
            {
                return true;
            }

            if (_queue.Reader.Completion.IsCompleted || _cancel.IsCancellationRequested)
            {
                return false;
            }

            RemoteLog.UdpDatagramDropped(_relay._logger, _source, _relay._destination);
            return true;
        }

        /// <summary>Ends the flow: its tasks stop, and they release the call, the lane and the token source.</summary>
        public void Close()
        {
            _queue.Writer.TryComplete();
            try
            {
                _cancel.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // its tasks have ended and released everything
            }
        }

        private async Task RunAsync()
        {
            try
            {
                var sending = SendAsync();
                var receiving = ReceiveAsync();
                await Task.WhenAll(sending, receiving).ConfigureAwait(false);
            }
            finally
            {
                _relay._flows.TryRemove(new KeyValuePair<IPEndPoint, Flow>(_source, this));
                _queue.Writer.TryComplete();
                _call.Dispose();
                _lane.Dispose();
                _cancel.Dispose();
            }
        }

        /// <summary>Opens the flow, then writes the queued datagrams one at a time, as a call's request stream requires.</summary>
        private async Task SendAsync()
        {
            try
            {
                var family = _relay._destination.AddressFamily == AddressFamily.InterNetworkV6 ? IpFamily.V6 : IpFamily.V4;
                await _call.RequestStream.WriteAsync(new UdpClientMessage { Open = new UdpOpen { Family = family, Destination = SockAddr.FromIPEndPoint(_relay._destination) } }, _cancel.Token).ConfigureAwait(false);
                await foreach (var datagram in _queue.Reader.ReadAllAsync(_cancel.Token).ConfigureAwait(false))
                {
                    await _call.RequestStream.WriteAsync(new UdpClientMessage { Datagram = new UdpDatagram { Data = Google.Protobuf.UnsafeByteOperations.UnsafeWrap(datagram) } }, _cancel.Token).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is RpcException or OperationCanceledException or InvalidOperationException)
            {
                RemoteLog.UdpFlowFailed(_relay._logger, _source, _relay._destination, e.Message);
            }
            finally
            {
                // A flow that cannot send is broken: the next datagram from the source opens a new one.
                Close();
            }
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
                            Volatile.Write(ref _lastActivity, _relay._time.GetTimestamp());
                            await _relay._socket.SendToAsync(message.Datagram.Data.Memory, SocketFlags.None, _source, _cancel.Token).ConfigureAwait(false);
                            break;
                        case UdpServerMessage.MessageOneofCase.OpenResult when message.OpenResult.Error is { } error:
                            RemoteLog.UdpOpenFailed(_relay._logger, _relay._destination, error.Errno, error.Message);
                            break;
                        case UdpServerMessage.MessageOneofCase.Error when message.Error.Errno == Errno.ECONNREFUSED && _relay._app is not null:
                            Volatile.Write(ref _lastActivity, _relay._time.GetTimestamp());
                            var seen = _relay.Refuse(_source);
                            RemoteLog.UdpRefused(_relay._logger, _relay._destination, seen);
                            break;
                        case UdpServerMessage.MessageOneofCase.Error:
                            RemoteLog.UdpError(_relay._logger, _relay._destination, message.Error.Errno, message.Error.Message);
                            break;
                    }
                }
            }
            catch (Exception e) when (e is RpcException or OperationCanceledException or SocketException or ObjectDisposedException)
            {
                RemoteLog.UdpFlowEnded(_relay._logger, _source, _relay._destination, e.Message);
            }
            finally
            {
                Close();
            }
        }
    }
}
