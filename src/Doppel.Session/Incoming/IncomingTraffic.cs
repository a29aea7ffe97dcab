using System.Collections.Concurrent;
using System.Net;
using System.Threading.Channels;
using Doppel.Config;
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
///   dispose: unsubscribe every port, end the call, end the Serve calls
/// </code>
/// The interception layer does not report a listener's close yet, so a port stays subscribed
/// until the session ends.
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
    private readonly Channel<IncomingPort> _listeners = Channel.CreateUnbounded<IncomingPort>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<int, IncomingPort> _ports = new();
    private readonly HttpMessageInvoker _http;
    private AsyncDuplexStreamingCall<IncomingClientMessage, IncomingServerMessage>? _call;
    private bool _unavailable;

    public IncomingTraffic(IncomingConfig config, AgentConnection connection, string sessionName, Action<string> info, Action<string> warn, Action<string> error, ILogger logger)
    {
        _config = config;
        _connection = connection;
        _sessionName = sessionName;
        _info = info;
        _warn = warn;
        _error = error;
        _logger = logger;
        _tasks = new BackgroundTasks(logger);
        _http = new HttpMessageInvoker(Handler());
        Counts = new IncomingCounts();
        _tasks.Run("incoming subscriptions", SubscribeLoopAsync);
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
            _listeners.Writer.TryWrite(port);
        }
        else
        {
            IncomingLog.ListenerIgnored(_logger, local, requestedPort);
        }
    }

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
        _http.Dispose();
        _closed.Dispose();
    }

    private async Task SubscribeLoopAsync()
    {
        await foreach (var port in _listeners.Reader.ReadAllAsync(_closed.Token).ConfigureAwait(false))
        {
            if (_unavailable || !_ports.TryAdd(port.TargetPort, port))
            {
                continue; // the same target port again (an IPv4 and an IPv6 listener): one subscription
            }

            IncomingLog.Subscribing(_logger, port.Describe());
            try
            {
                var call = _call ??= await OpenAsync().ConfigureAwait(false);
                await call.RequestStream.WriteAsync(
                    new IncomingClientMessage
                    {
                        Subscribe = new PortSubscription
                        {
                            Port = (uint)port.TargetPort,
                            Mode = port.Mode,
                            Filter = port.Filter,
                            OnConcurrentSteal = ConcurrentSteal(_config.OnConcurrentSteal),
                        },
                    },
                    _closed.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is RpcException or InvalidOperationException)
            {
                _ports.TryRemove(port.TargetPort, out _);
                Unavailable(port, e is RpcException r ? $"{r.StatusCode}: {r.Status.Detail}" : e.Message, e is RpcException { StatusCode: StatusCode.Unimplemented });
            }
        }
    }

    private async Task<AsyncDuplexStreamingCall<IncomingClientMessage, IncomingServerMessage>> OpenAsync()
    {
        var call = _connection.Incoming.Subscribe(cancellationToken: _closed.Token);
        try
        {
            await call.RequestStream.WriteAsync(new IncomingClientMessage { Hello = new IncomingHello { SessionName = _sessionName } }, _closed.Token).ConfigureAwait(false);
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

        var pool = new ServePool(
            () =>
            {
                var lease = _connection.Relay.Take();
                return (lease.Incoming, lease);
            },
            call.ResponseStream.Current.Welcome.SessionId,
            new ServeWork(_http, AppFor, Counts, _logger),
            _tasks,
            _logger,
            _closed.Token);
        pool.Fill();
        _tasks.Run("incoming control stream", () => ReadControlAsync(call));
        return call;
    }

    private async Task ReadControlAsync(AsyncDuplexStreamingCall<IncomingClientMessage, IncomingServerMessage> call)
    {
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
            IncomingLog.SubscribeEnded(_logger, e.Message);
            if (!_closed.IsCancellationRequested && !_ports.IsEmpty)
            {
                _error($"the agent ended this session's incoming subscriptions ({e.Message}); requests to {string.Join(", ", _ports.Keys.Order().Select(p => ":" + p))} go to the target's app again.");
            }
        }
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

            _error($"port {subscribed.Port} is not {(refused?.Mode == SubscriptionMode.Mirror ? "mirrored" : "stolen")}: {error.Message}");
            return;
        }

        if (_ports.TryGetValue(key, out var port))
        {
            _info(port.Describe());
        }
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
}
