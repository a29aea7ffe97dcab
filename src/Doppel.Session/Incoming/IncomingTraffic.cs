using System.Collections.Concurrent;
using System.Net;
using System.Threading.Channels;
using Doppel.Config;
using Doppel.Linux.Sockets;
using Doppel.Protocol.V1;
using Doppel.Session.Agent;
using Doppel.Session.Remote;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Doppel.Session.Incoming;

/// <summary>
/// The session's side of incoming traffic (issue 10 items 1 and 6): the app's listeners become
/// subscriptions at the agent, and the agent's work reaches the app through <see cref="ServePool"/>.
/// <code>
///   supervisor: OnListening(local, requested) ─► IncomingPort.Decide ─► channel (no I/O on that thread)
///   loop: first subscription opens Subscribe: hello {USER@host (pid N)} ─► welcome {session_id} ─► ServePool.Fill
///         subscribe {port, mode, filter?, on_concurrent_steal} ─► subscribed {port, error?}
///            ok ─► info line "steal :80 → localhost:3000 (filter …)"; error ─► one error line, port forgotten
///         notice {text} ─► one warning line
///         mirror_dropped {port, copies, bytes} ─► Counts (shown with -v at exit); the first of a port ─► one warning line
///   watch (every second while ports are subscribed): sock_diag lists this namespace's TCP listeners;
///         a port whose local listener was seen and is gone ─► unsubscribe {port}, info line
///   the agent ends the Subscribe call (it died, restarted, or was stopped) ─► one error line; the
///         old Serve calls stop; a reconnect task opens Subscribe again (0.5 s … 5 s apart) ─►
///         every port still listened on is subscribed again (its info line again); listeners
///         opened or closed meanwhile are only noted and take effect then
///   dispose: unsubscribe every port, end the call, end the Serve calls
/// </code>
/// close() is not trapped (it is the commonest syscall there is): the watch notices a closed
/// listener within about a second. A port counts as listened while any TCP socket of this network
/// namespace listens on the app's local port (a forked child holding a copy of the listener keeps
/// it); a port not listened on at two ticks in a row counts as closed too (a listener closed
/// within a second of its listen, or one whose listen() failed). A later listen on the port
/// subscribes it again. Connections already delivered keep going.
/// </summary>
internal sealed class IncomingTraffic : IAsyncDisposable
{
    private const int EOPNOTSUPP = 95;

    private readonly IncomingConfig _config;
    private readonly AgentConnection _connection;
    private readonly string _sessionName;
    private readonly Action<string> _info;
    private readonly Action<string> _warn;
    private readonly Action<string> _error;
    private readonly ILogger _logger;
    private readonly BackgroundTasks _tasks;
    private readonly CancellationTokenSource _closed = new();
    private static readonly TimeSpan s_firstReconnectDelay = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan s_lastReconnectDelay = TimeSpan.FromSeconds(5);

    // supervisor (listen), watch (close), control stream (lost), reconnect task (reopened)
    //   --changes--> subscribe loop (the one writer of the call)
    private readonly Channel<Change> _listeners = Channel.CreateUnbounded<Change>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<int, IncomingPort> _ports = new();
    // the app's local listening ports that were subscribed (DeliversTo)
    private readonly ConcurrentDictionary<int, byte> _deliveryPorts = new();
    private readonly ConcurrentDictionary<IncomingPort, bool> _seenListening = new(ReferenceEqualityComparer.Instance);
    private readonly bool _flushConnections;
    private readonly HttpMessageInvoker _http;
    // What the local apps showed of h2c, kept across the Serve calls of reconnects.
    private readonly LocalAppProtocols _appProtocols;
    private AsyncDuplexStreamingCall<IncomingClientMessage, IncomingServerMessage>? _call;
    private CancellationTokenSource? _callServes;
    private readonly bool _watchListeners;
    private readonly IncomingOutage.Agent _outage;
    // The ports subscribed again after a reconnect whose answer has not come yet, and the lines of
    // those answered (the line that ends the outage); guarded by itself.
    private readonly Dictionary<int, string?> _resubscribing = [];
    private bool _unavailable;
    private bool _reconnecting;

    /// <param name="flushConnections"><c>agent.flush_connections</c>: a stolen port's connections established before the steal are ended by the agent.</param>
    /// <param name="counts">The counts to add to (shared by the session's agents, <see cref="IncomingReplicas"/>); null: its own.</param>
    /// <param name="delivered">The delivered connections to record in (shared likewise); null: its own.</param>
    /// <param name="watchListeners">
    /// False for <c>doppel port-forward -R</c>: its ports (<see cref="Forward"/>) stay subscribed whether
    /// or not anything listens locally yet, as mirrord's do.
    /// </param>
    /// <param name="outage">Where the loss of the subscriptions and their return are said (shared by the session's agents); null: said here, with <paramref name="warn"/> and <paramref name="info"/>.</param>
    public IncomingTraffic(IncomingConfig config, AgentConnection connection, string sessionName, Action<string> info, Action<string> warn, Action<string> error, ILogger logger, bool flushConnections = true, IncomingCounts? counts = null, DeliveredClients? delivered = null, bool watchListeners = true, IncomingOutage.Agent? outage = null)
    {
        _outage = outage ?? IncomingOutage.Agent.Alone(warn, info, logger);
        Delivered = delivered ?? new DeliveredClients();
        _watchListeners = watchListeners;
        _flushConnections = flushConnections;
        _config = config;
        _connection = connection;
        _sessionName = sessionName;
        _info = info;
        _warn = warn;
        _appProtocols = new LocalAppProtocols(warn);
        _error = error;
        _logger = logger;
        _tasks = new BackgroundTasks(logger);
        _http = new HttpMessageInvoker(Handler());
        Counts = counts ?? new IncomingCounts();
        _tasks.Run("incoming subscriptions", SubscribeLoopAsync);
        _tasks.Run("incoming listener watch", WatchListenersAsync);
    }

    /// <summary>What the agent handed over, for the <c>-v</c> summary.</summary>
    public IncomingCounts Counts { get; }

    /// <summary>
    /// The pooled client requests are replayed with: no proxy, no redirects, no decompression,
    /// no cookies; HTTP/2 over cleartext with prior knowledge when the request was HTTP/2.
    /// </summary>
    internal static SocketsHttpHandler Handler() => new()
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        ConnectTimeout = TimeSpan.FromSeconds(5),
        EnableMultipleHttp2Connections = true,
        Expect100ContinueTimeout = TimeSpan.Zero,
    };

    /// <summary>"alice@laptop (pid 4242)": who this session is, in other sessions' messages.</summary>
    public static string SessionName(IReadOnlyDictionary<string, string> environment) =>
        $"{(environment.GetValueOrDefault("USER") is { Length: > 0 } user ? user : Environment.UserName)}@{Environment.MachineName} (pid {Environment.ProcessId})";

    /// <summary>The interception policy's listen report (supervisor thread: no I/O, only a decision and a queue).</summary>
    public void OnListening(IPEndPoint local, int requestedPort)
    {
        if (IncomingPort.Decide(_config, local, requestedPort) is { } port)
        {
            _deliveryPorts.TryAdd(local.Port, 0);
            _listeners.Writer.TryWrite(new Change(ChangeKind.Listening, port));
        }
        else
        {
            IncomingLog.ListenerIgnored(_logger, local, requestedPort);
        }
    }

    /// <summary>
    /// <c>doppel port-forward -R</c>: subscribes <paramref name="targetPort"/> in the configured mode and
    /// filter (<see cref="IncomingPort.Reverse"/>), delivered to <paramref name="app"/>, until the session ends.
    /// </summary>
    public void Forward(int targetPort, IPEndPoint app) =>
        _listeners.Writer.TryWrite(new Change(ChangeKind.Listening, IncomingPort.Reverse(_config, targetPort, app)));

    /// <summary>The original client of a whole TCP connection the session delivers, by the session's end of it (the peer the app sees); null for any other peer.</summary>
    public IPEndPoint? OriginalClient(IPEndPoint peer) => Delivered.OriginalClient(peer);

    /// <summary>
    /// True when the agent refused a port of the session and none is subscribed or being subscribed:
    /// the session takes nothing here (another session steals the port whole). False before the
    /// first listen, and while any port is taken.
    /// </summary>
    public bool TakesNothingAfterRefusal => _refused && _ports.IsEmpty;

    // Set at the first refused subscription (a mirror an older agent cannot do aside).
    private volatile bool _refused;

    /// <summary>
    /// Whether the app's listener at <paramref name="listener"/> is one the session subscribed (its
    /// accepts may return delivered connections). Decided at listen, before the subscription is
    /// made, so an accept waiting from the start is covered; a port stays once seen.
    /// </summary>
    public bool DeliversTo(IPEndPoint listener) => _deliveryPorts.ContainsKey(listener.Port);

    /// <summary>The whole TCP connections being delivered, for <see cref="OriginalClient"/>.</summary>
    internal DeliveredClients Delivered { get; }

    /// <summary>Where work for <paramref name="targetPort"/> goes locally; null when the port is not subscribed.</summary>
    public IPEndPoint? AppFor(int targetPort) => _ports.TryGetValue(targetPort, out var port) ? port.App : null;

    public async ValueTask DisposeAsync()
    {
        _listeners.Writer.TryComplete();
        if (_call is { } call)
        {
            try
            {
                foreach (var port in _ports.Keys)
                {
                    await call.RequestStream.WriteAsync(new IncomingClientMessage { Unsubscribe = new PortUnsubscription { Port = (uint)port } }).ConfigureAwait(false);
                }

                await call.RequestStream.CompleteAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (ByteRelay.IsRelayEnd(e))
            {
                IncomingLog.SubscribeEnded(_logger, e.Message);
            }
        }

        await _closed.CancelAsync().ConfigureAwait(false);
        await _tasks.WhenAllAsync().ConfigureAwait(false);
        _call?.Dispose();
        _callServes?.Dispose();
        _http.Dispose();
        _closed.Dispose();
    }

    private async Task SubscribeLoopAsync()
    {
        await foreach (var change in _listeners.Reader.ReadAllAsync(_closed.Token).ConfigureAwait(false))
        {
            switch (change.Kind)
            {
                case ChangeKind.Lost:
                    Lost(change.Call!);
                    continue;
                case ChangeKind.Reopened:
                    await ReopenedAsync(change.Call!).ConfigureAwait(false);
                    continue;
                case ChangeKind.Closed:
                    await UnsubscribeClosedAsync(change.Port!).ConfigureAwait(false);
                    continue;
            }

            var port = change.Port!;
            if (_unavailable)
            {
                continue;
            }

            if (_reconnecting)
            {
                // Subscribed with the others once the agent is back.
                _ports[port.TargetPort] = port;
                continue;
            }

            if (!_ports.TryAdd(port.TargetPort, port))
            {
                // The same target port again (an IPv4 and an IPv6 listener, or a listener reopened before
                // the watch saw the old one go): one subscription, watched through the newest listener.
                _ports[port.TargetPort] = port;
                continue;
            }

            IncomingLog.Subscribing(_logger, port.Describe());
            try
            {
                var call = _call ??= await OpenAsync().ConfigureAwait(false);
                await SubscribeAsync(call, port).ConfigureAwait(false);
            }
            catch (Exception e) when (e is RpcException or InvalidOperationException)
            {
                _ports.TryRemove(port.TargetPort, out _);
                Unavailable(port, e is RpcException r ? $"{r.StatusCode}: {r.Status.Detail}" : e.Message, e is RpcException { StatusCode: StatusCode.Unimplemented });
            }
        }
    }

    private Task SubscribeAsync(AsyncDuplexStreamingCall<IncomingClientMessage, IncomingServerMessage> call, IncomingPort port) =>
        call.RequestStream.WriteAsync(
            new IncomingClientMessage
            {
                Subscribe = new PortSubscription
                {
                    Port = (uint)port.TargetPort,
                    Mode = port.Mode,
                    Filter = port.Filter,
                    OnConcurrentSteal = ConcurrentSteal(_config.OnConcurrentSteal),
                    FlushConnections = _flushConnections,
                },
            },
            _closed.Token);

    /// <summary>
    /// The agent ended <paramref name="call"/> (the loop's writer): its Serve calls stop, and with
    /// ports to keep, a reconnect task opens a new one; without, the next listener opens it.
    /// </summary>
    private void Lost(AsyncDuplexStreamingCall<IncomingClientMessage, IncomingServerMessage> call)
    {
        if (!ReferenceEquals(call, _call))
        {
            return;
        }

        _callServes?.Cancel();
        _call.Dispose();
        _call = null;
        if (!_ports.IsEmpty && !_reconnecting)
        {
            _reconnecting = true;
            _tasks.Run("incoming reconnect", ReconnectAsync);
        }
    }

    /// <summary>Opens Subscribe again until the agent answers (or the session ends) and hands the call to the loop.</summary>
    private async Task ReconnectAsync()
    {
        var delay = s_firstReconnectDelay;
        while (!_closed.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(delay, _closed.Token).ConfigureAwait(false);
                var call = await OpenAsync().ConfigureAwait(false);
                if (!_listeners.Writer.TryWrite(new Change(ChangeKind.Reopened, Call: call)))
                {
                    call.Dispose(); // the session is ending
                }

                return;
            }
            catch (OperationCanceledException) when (_closed.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is RpcException or InvalidOperationException or IOException)
            {
                IncomingLog.SubscribeEnded(_logger, e.Message);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, s_lastReconnectDelay.Ticks));
            }
        }
    }

    /// <summary>The agent is back (the loop's writer): every port still listened on is subscribed on <paramref name="call"/>.</summary>
    private async Task ReopenedAsync(AsyncDuplexStreamingCall<IncomingClientMessage, IncomingServerMessage> call)
    {
        _reconnecting = false;
        _call = call;
        IncomingLog.Resubscribing(_logger, _ports.Count);
        lock (_resubscribing)
        {
            _resubscribing.Clear();
            foreach (var port in _ports.Keys)
            {
                _resubscribing[port] = null;
            }
        }

        foreach (var port in _ports.Values.OrderBy(p => p.TargetPort))
        {
            try
            {
                await SubscribeAsync(call, port).ConfigureAwait(false);
            }
            catch (Exception e) when (ByteRelay.IsRelayEnd(e))
            {
                // Lost again: the control stream's end queues Lost, which reconnects once more.
                IncomingLog.SubscribeEnded(_logger, e.Message);
                return;
            }
        }
    }

    /// <summary>Once a second while ports are subscribed: queues the ports whose listener was seen listening and is gone, or is missing at two ticks in a row.</summary>
    private async Task WatchListenersAsync()
    {
        if (!_watchListeners)
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        // Disposed at the session's end: the wait answers false (a canceled wait would throw, and be logged as a failure).
        using var stop = _closed.Token.Register(timer.Dispose);
        while (await timer.WaitForNextTickAsync().ConfigureAwait(false))
        {
            if (_ports.IsEmpty)
            {
                continue;
            }

            HashSet<int> listening;
            try
            {
                listening = SockDiag.List(1u << SockDiag.Listen).Select(s => s.Local.Port).ToHashSet();
            }
            catch (IOException e)
            {
                IncomingLog.ListenerWatchFailed(_logger, e.Message);
                return;
            }

            foreach (var port in _ports.Values)
            {
                if (listening.Contains(port.App.Port))
                {
                    _seenListening[port] = true;
                }
                else if (_seenListening.TryRemove(port, out _))
                {
                    // Seen listening before, or already missed at the last tick (a listener closed
                    // within a second of its listen is never seen at all).
                    _listeners.Writer.TryWrite(new Change(ChangeKind.Closed, port));
                }
                else
                {
                    // Missed once: listen() is reported before the kernel runs it, so a tick may come first.
                    _seenListening[port] = false;
                }
            }
        }
    }

    /// <summary>The app closed the listener of <paramref name="port"/>: the agent takes no more connections for it (the loop's writer).</summary>
    private async Task UnsubscribeClosedAsync(IncomingPort port)
    {
        // Only this listener's subscription: a newer listener of the port (reopened before the watch
        // saw the old one go) replaced it in _ports and keeps the port.
        if (!_ports.TryGetValue(port.TargetPort, out var current) || !ReferenceEquals(current, port) || _call is not { } call)
        {
            return;
        }

        _ports.TryRemove(port.TargetPort, out _);

        try
        {
            await call.RequestStream.WriteAsync(new IncomingClientMessage { Unsubscribe = new PortUnsubscription { Port = (uint)port.TargetPort } }, _closed.Token).ConfigureAwait(false);
            _info($"{(port.Mode == SubscriptionMode.Steal ? "steal" : "mirror")} :{port.TargetPort} ended: the app closed its listener on {port.App}.");
        }
        catch (Exception e) when (ByteRelay.IsRelayEnd(e) || e is InvalidOperationException)
        {
            IncomingLog.SubscribeEnded(_logger, e.Message);
        }
    }

    /// <summary>
    /// Opens Subscribe (hello, welcome) and its Serve calls, which stop when the call is lost or
    /// the session ends. Off the loop, only by the loop or the reconnect task, never both at once.
    /// </summary>
    private async Task<AsyncDuplexStreamingCall<IncomingClientMessage, IncomingServerMessage>> OpenAsync()
    {
        var call = _connection.Incoming.Subscribe(cancellationToken: _closed.Token);
        try
        {
            await call.RequestStream.WriteAsync(new IncomingClientMessage { Hello = new IncomingHello { SessionName = _sessionName, WholeMessages = true } }, _closed.Token).ConfigureAwait(false);
            if (!await call.ResponseStream.MoveNext(_closed.Token).ConfigureAwait(false) || call.ResponseStream.Current.MessageCase != IncomingServerMessage.MessageOneofCase.Welcome)
            {
                throw new InvalidOperationException("the agent did not welcome the session");
            }
        }
        catch
        {
            call.Dispose();
            throw;
        }

        var serves = CancellationTokenSource.CreateLinkedTokenSource(_closed.Token);
        var previous = Interlocked.Exchange(ref _callServes, serves);
        previous?.Cancel();
        previous?.Dispose();
        var pool = new ServePool(
            () =>
            {
                var lease = _connection.Relay.Take();
                return (lease.Incoming, lease);
            },
            call.ResponseStream.Current.Welcome.SessionId,
            new ServeWork(_http, AppFor, Counts, _logger, Delivered, wholeResponses: call.ResponseStream.Current.Welcome.WholeMessages, protocols: _appProtocols),
            _tasks,
            _logger,
            serves.Token);
        pool.Fill();
        _tasks.Run("incoming control stream", () => ReadControlAsync(call));
        return call;
    }

    private async Task ReadControlAsync(AsyncDuplexStreamingCall<IncomingClientMessage, IncomingServerMessage> call)
    {
        string reason = "the agent ended the call";
        try
        {
            while (await call.ResponseStream.MoveNext(_closed.Token).ConfigureAwait(false))
            {
                var message = call.ResponseStream.Current;
                switch (message.MessageCase)
                {
                    case IncomingServerMessage.MessageOneofCase.Subscribed:
                        Subscribed(message.Subscribed);
                        break;
                    case IncomingServerMessage.MessageOneofCase.Notice:
                        _warn(message.Notice.Text);
                        break;
                    case IncomingServerMessage.MessageOneofCase.MirrorDropped:
                        MirrorDropped(message.MirrorDropped);
                        break;
                }
            }
        }
        catch (Exception e) when (ByteRelay.IsRelayEnd(e))
        {
            reason = e is RpcException r ? $"{r.StatusCode}: {r.Status.Detail}" : e.Message;
        }

        if (_closed.IsCancellationRequested)
        {
            return;
        }

        IncomingLog.SubscribeEnded(_logger, reason);
        if (!_ports.IsEmpty)
        {
            _outage.Lost($"incoming: the connection to the agent broke or the agent ended ({Short(reason)}); requests to {string.Join(", ", _ports.Keys.Order().Select(p => ":" + p))} go to the target's app until doppel has subscribed them again, once the agent is back.");
        }

        _listeners.Writer.TryWrite(new Change(ChangeKind.Lost, Call: call));
    }

    /// <summary>A reason's first sentence, at most 120 characters: a gRPC status detail carries the whole exception chain.</summary>
    private static string Short(string reason)
    {
        var end = reason.IndexOfAny(['\n', '(']);
        var sentence = end > 0 ? reason[..end] : reason;
        var stop = sentence.IndexOf(". ", StringComparison.Ordinal);
        sentence = (stop > 0 ? sentence[..stop] : sentence).TrimEnd(' ', '.', ':');
        return sentence.Length <= 120 ? sentence : sentence[..117] + "...";
    }

    private void Subscribed(PortSubscribed subscribed)
    {
        var key = (int)subscribed.Port;
        if (subscribed.Error is { } error)
        {
            _ports.TryRemove(key, out var refused);
            if (refused?.Mode == SubscriptionMode.Mirror && error.Errno == EOPNOTSUPP)
            {
                // An agent that cannot mirror yet: mirror is the default and takes nothing from the
                // target's clients, so this is logged, not said (as for an agent without IncomingService).
                IncomingLog.MirrorUnsupported(_logger, key, error.Message);
                return;
            }

            _refused = true;
            _error($"port {subscribed.Port} is not {(refused?.Mode == SubscriptionMode.Mirror ? "mirrored" : "stolen")}: {error.Message}");
            Resubscribed(key, null);
            return;
        }

        if (_ports.TryGetValue(key, out var port) && !Resubscribed(key, port.Describe()))
        {
            _info(port.Describe());
        }
    }

    /// <summary>
    /// The agent's answer for <paramref name="port"/> after a reconnect (<paramref name="line"/>: its
    /// description; null: refused): once every port has its answer, the outage's end is said with the
    /// ports subscribed again. False when the port was not being subscribed again (a first subscription).
    /// </summary>
    private bool Resubscribed(int port, string? line)
    {
        string[] lines;
        lock (_resubscribing)
        {
            if (!_resubscribing.ContainsKey(port))
            {
                return false;
            }

            _resubscribing[port] = line ?? "";
            if (_resubscribing.Values.Any(l => l is null))
            {
                return true;
            }

            lines = [.. _resubscribing.OrderBy(p => p.Key).Select(p => p.Value!).Where(l => l.Length > 0)];
            _resubscribing.Clear();
        }

        _outage.Back(lines.Length == 0
            ? "incoming: the agent is back, but it took none of the session's ports again."
            : $"incoming: subscribed again: {string.Join("; ", lines)}");
        return true;
    }

    private void MirrorDropped(MirrorDropped dropped)
    {
        if (Counts.MirrorDropped((int)dropped.Port, (long)dropped.Copies, (long)dropped.Bytes))
        {
            _warn($"mirror copies of port {dropped.Port} are being dropped: this session or its local app does not keep up with the pod's traffic (the pod's clients are not slowed); -v shows the count at exit.");
        }
    }

    private void Unavailable(IncomingPort port, string reason, bool unimplemented)
    {
        _unavailable = true;
        IncomingLog.SubscribeEnded(_logger, reason);

        // An agent without IncomingService (an older one) is said out loud only when steal was asked for:
        // mirror is the default, and it takes nothing from the target's clients.
        if (!_closed.IsCancellationRequested && !(unimplemented && port.Mode == SubscriptionMode.Mirror))
        {
            _error($"the agent does not take incoming traffic ({reason}), so port {port.TargetPort} and any later listener stay local only.");
        }
    }

    private static ConcurrentSteal ConcurrentSteal(ConcurrentStealMode mode) => mode switch
    {
        ConcurrentStealMode.Continue => Protocol.V1.ConcurrentSteal.Continue,
        ConcurrentStealMode.Override => Protocol.V1.ConcurrentSteal.Override,
        _ => Protocol.V1.ConcurrentSteal.Abort,
    };

    private enum ChangeKind
    {
        /// <summary>The app listens on <see cref="Change.Port"/>.</summary>
        Listening,

        /// <summary>The app's listener of <see cref="Change.Port"/> is gone.</summary>
        Closed,

        /// <summary>The agent ended <see cref="Change.Call"/>.</summary>
        Lost,

        /// <summary>The reconnect task opened <see cref="Change.Call"/>.</summary>
        Reopened,
    }

    /// <summary>One change for the subscribe loop.</summary>
    private readonly record struct Change(
        ChangeKind Kind,
        IncomingPort? Port = null,
        AsyncDuplexStreamingCall<IncomingClientMessage, IncomingServerMessage>? Call = null);
}
