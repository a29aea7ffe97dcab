using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Doppel.Agent.Network;
using Doppel.Agent.Services;
using Doppel.Agent.Targets;
using Doppel.Linux.Native;
using Doppel.Protocol.V1;
using Microsoft.Extensions.Logging;

namespace Doppel.Agent.Incoming;

/// <summary>
/// The agent's incoming state, one per agent (one target): the sessions, who subscribed which
/// port, and — created on the first subscription — the listener in the target's namespace, the
/// redirect to it and the Kestrel front that serves redirected connections.
/// <code>
///   Subscribe ──► IncomingHub ──AddPort/RemovePort──► IncomingRedirect (nft table, dies with the agent)
///   client ──redirect──► listener ──► IncomingFront ──RouteConnection / filtered Choose──► session | app
/// </code>
/// A port's routing: an unfiltered steal (<see cref="PortRoute.WholeSteal"/>) takes every new
/// connection; otherwise the filtered subscriptions (earliest match wins) pick requests and
/// everything else goes to the app. A whole steal beside other sessions' filtered steals is a
/// conflict too (it would take their requests), either way round: abort refuses the later one;
/// a whole steal with continue waits until the filtered ones leave, with override takes the port
/// (they are told); a filtered steal with continue or override subscribes and waits behind the
/// whole one (it is told). Unfiltered conflicts follow on_concurrent_steal: abort
/// (refused, naming the other session), continue (queued behind the current owner, takes over
/// when it leaves), override (takes the port from the current owner, who is told). Mirror
/// subscriptions (whole or filtered) never conflict: they get copies (<see cref="MirrorCopies"/>)
/// through each session's <see cref="MirrorQueue"/>, and the original goes where it would go without them.
/// </summary>
internal sealed class IncomingHub(Target target, TargetNetwork network, ILoggerFactory loggers) : IAsyncDisposable
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly ConcurrentDictionary<string, IncomingSession> _sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<int, PortState> _ports = new();
    private readonly ConcurrentDictionary<string, MirrorQueue> _mirrorQueues = new(StringComparer.Ordinal);
    private readonly long _mirrorCapacity = MirrorQueue.CapacityFromEnvironment(Environment.GetEnvironmentVariable);
    private readonly ILogger _logger = loggers.CreateLogger("doppel.agent.incoming");
    private IncomingRedirect? _redirect;
    private IncomingFront? _front;
    private long _sessionNumbers;

    /// <summary>The network of the target (pass-through connections to the app are made there).</summary>
    public TargetNetwork Network => network;

    /// <summary>
    /// True when the kubelet's HTTP probes check <paramref name="port"/> (<c>--http-probe-ports</c>):
    /// a whole steal of it leaves their requests to the app (<see cref="KubeProbeHead"/>).
    /// </summary>
    public bool IsHttpProbePort(int port) => target.HttpProbePorts.Contains(port);

    /// <summary>How long a new piece of work waits for an idle Serve call of its session.</summary>
    public static TimeSpan ServeWait { get; } = TimeSpan.FromSeconds(5);

    /// <summary>Registers a session (its Subscribe call); <paramref name="wholeMessages"/>: its hello's whole_messages (incoming.proto); <paramref name="owner"/>: the agent's record of the session that opened the call.</summary>
    public IncomingSession AddSession(string name, Grpc.Core.IServerStreamWriter<IncomingServerMessage> control, bool wholeMessages = false, Doppel.Agent.Sessions.AgentSession? owner = null)
    {
        var id = "s" + Interlocked.Increment(ref _sessionNumbers).ToString(CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..8];
        var session = new IncomingSession(id, string.IsNullOrEmpty(name) ? id : name, control) { WholeMessages = wholeMessages, Owner = owner };
        _sessions[id] = session;
        return session;
    }

    /// <summary>The session with this id, or null.</summary>
    public IncomingSession? Find(string id) => _sessions.GetValueOrDefault(id);

    /// <summary>
    /// Subscribes a port for a session (again: replaces its earlier subscription of the port).
    /// Throws <see cref="InvalidHttpFilterException"/> for a filter that does not compile,
    /// <see cref="InvalidOperationException"/> for a targetless agent.
    /// </summary>
    public async Task<PortSubscribed> SubscribeAsync(IncomingSession session, PortSubscription subscription, CancellationToken cancellationToken)
    {
        var port = (int)subscription.Port;
        var answer = new PortSubscribed { Port = subscription.Port };
        if (port is < 1 or > 65535)
        {
            answer.Error = new PosixError { Errno = Errno.EINVAL, Message = $"Port {subscription.Port} is outside 1–65535." };
            return answer;
        }

        if (target.IsTargetless)
        {
            throw new InvalidOperationException("A targetless agent has no pod to take incoming traffic from.");
        }

        HttpFilterMatcher? filter = subscription.Filter is null ? null : HttpFilterMatcher.Compile(subscription.Filter, new FilterCounters());
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (session.Ended.IsCancellationRequested)
            {
                return answer;
            }

            var state = _ports.GetOrAdd(port, _ => new PortState());
            lock (state)
            {
                if (subscription.Mode == SubscriptionMode.Mirror)
                {
                    state.Remove(session);
                    state.AddMirror(session, filter);
                    _mirrorQueues.GetOrAdd(session.Id, _ => new MirrorQueue(session, _mirrorCapacity, _logger));
                }
                else if (filter is null && state.WholeSteals.All(s => s == session) && FilteredStealers(state, session) is { Count: > 0 } stealers)
                {
                    // A whole steal beside other sessions' filtered ones would take their requests
                    // too: a conflict, as between two whole steals (a team sharing a workload).
                    var names = string.Join(", ", stealers.Select(s => s.Name));
                    switch (subscription.OnConcurrentSteal)
                    {
                        case ConcurrentSteal.Unspecified or ConcurrentSteal.Abort:
                            answer.Error = new PosixError
                            {
                                Errno = Errno.EADDRINUSE,
                                Message = $"Port {port} is stolen by HTTP filter by {names}, and a whole steal would take their requests too; " +
                                    "steal with an HTTP filter of your own (feature.network.incoming.http_filter), or set on_concurrent_steal to continue (the port is yours once they leave) or override (take it now).",
                            };
                            return answer;
                        case ConcurrentSteal.Override:
                            state.Remove(session);
                            state.WholeSteals.Insert(0, session);
                            state.WholeWaits = false;
                            foreach (var stealer in stealers)
                            {
                                stealer.Notify($"{session.Name} took port {port} whole (on_concurrent_steal = override); your filtered requests go to them until they leave.");
                            }

                            break;
                        default:
                            state.Remove(session);
                            state.WholeSteals.Add(session);
                            state.WholeWaits = true;
                            session.Notify($"Port {port} is stolen by HTTP filter by {names}: the port is yours once they leave (on_concurrent_steal = continue); until then their requests go to them and the others to the target's app.");
                            break;
                    }
                }
                else if (filter is null)
                {
                    var owner = state.WholeSteals.FirstOrDefault(s => s != session);
                    switch (owner is null ? ConcurrentSteal.Continue : subscription.OnConcurrentSteal)
                    {
                        case ConcurrentSteal.Unspecified or ConcurrentSteal.Abort:
                            answer.Error = new PosixError
                            {
                                Errno = Errno.EADDRINUSE,
                                Message = $"Port {port} is already stolen whole by {owner!.Name}; set on_concurrent_steal to continue or override to subscribe anyway.",
                            };
                            return answer;
                        case ConcurrentSteal.Override:
                            state.Remove(session);
                            state.WholeSteals.Insert(0, session);
                            owner!.Notify($"{session.Name} took over port {port} (on_concurrent_steal = override); new connections go to them.");
                            break;
                        default:
                            state.Remove(session);
                            state.WholeSteals.Add(session);
                            break;
                    }
                }
                else
                {
                    if (state.ActiveWholeSteal is { } whole && whole != session)
                    {
                        // Its requests would go to the whole steal: refused, or subscribed to wait for the port.
                        if (subscription.OnConcurrentSteal is ConcurrentSteal.Unspecified or ConcurrentSteal.Abort)
                        {
                            answer.Error = new PosixError
                            {
                                Errno = Errno.EADDRINUSE,
                                Message = $"Port {port} is already stolen whole by {whole.Name}, who would get your filtered requests; " +
                                    "set on_concurrent_steal to continue to subscribe anyway (your requests reach you once they leave).",
                            };
                            return answer;
                        }

                        session.Notify($"Port {port} is stolen whole by {whole.Name}: your filtered requests go to them until they leave (a filtered steal does not take requests from a whole one).");
                    }

                    state.Remove(session);
                    state.Filtered[session.Id] = state.Subscriptions.Add(session.Id, filter!);
                }
            }

            await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
            await _redirect!.AddPortAsync(port, subscription.Mode == SubscriptionMode.Steal && subscription.FlushConnections, cancellationToken).ConfigureAwait(false);
            return answer;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Removes a session's subscription of a port; the last one on a port takes it out of the redirect.</summary>
    public async Task UnsubscribeAsync(IncomingSession session, int port, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_ports.TryGetValue(port, out var state))
            {
                state.Remove(session);
                await ReleaseIfUnusedAsync(port, state).ConfigureAwait(false);
            }
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Ends a session: removes all its subscriptions and fails its work in flight.</summary>
    public async Task EndSessionAsync(IncomingSession session)
    {
        _sessions.TryRemove(session.Id, out _);
        session.End();
        if (_mirrorQueues.TryRemove(session.Id, out var mirror))
        {
            mirror.Dispose();
        }

        await _lock.WaitAsync().ConfigureAwait(false);
        try
        {
            foreach (var (port, state) in _ports)
            {
                if (state.Remove(session))
                {
                    await ReleaseIfUnusedAsync(port, state).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Where a new connection to <paramref name="port"/> goes.</summary>
    public PortRoute Route(int port)
    {
        if (!_ports.TryGetValue(port, out var state))
        {
            return new PortRoute(null, null);
        }

        lock (state)
        {
            var mirrors = state.Mirrors(QueueOf);
            return state.ActiveWholeSteal is { } whole
                ? new PortRoute(whole, null, mirrors)
                : new PortRoute(null, state.Subscriptions.Subscriptions.Count > 0 ? state.Subscriptions : null, mirrors);
        }
    }

    /// <summary>The other sessions with a filtered steal of the port, in subscription order (the caller holds the state's lock).</summary>
    private List<IncomingSession> FilteredStealers(PortState state, IncomingSession session) =>
        [.. state.Filtered.Keys.Where(id => id != session.Id).Select(id => _sessions.GetValueOrDefault(id)).OfType<IncomingSession>()];

    /// <summary>A mirroring session's queue by its id; null when it has ended.</summary>
    private MirrorQueue? QueueOf(string sessionId) => _mirrorQueues.GetValueOrDefault(sessionId);

    /// <summary>Connects a marked socket (exempt from the redirect) in the target's namespace to the app at <paramref name="destination"/>.</summary>
    public async Task<Socket> ConnectToAppAsync(IPEndPoint destination, CancellationToken cancellationToken)
    {
        var socket = await network.CreateSocketAsync(destination.AddressFamily, SocketType.Stream, ProtocolType.Tcp).ConfigureAwait(false);
        try
        {
            IncomingRedirect.MarkAsAgentConnection(socket);
            socket.NoDelay = true;
            await socket.ConnectAsync(destination, cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var session in _sessions.Values)
        {
            session.End();
        }

        if (_front is not null)
        {
            await _front.DisposeAsync().ConfigureAwait(false);
        }

        _redirect?.Dispose();
    }

    private async Task EnsureStartedAsync(CancellationToken cancellationToken)
    {
        if (_redirect is not null)
        {
            return;
        }

        if (target.IsTargetless)
        {
            throw new InvalidOperationException("A targetless agent has no pod to take incoming traffic from.");
        }

        var listener = await RedirectListener.OpenAsync(network, cancellationToken).ConfigureAwait(false);
        var front = await IncomingFront.StartAsync(this, listener, loggers, cancellationToken).ConfigureAwait(false);
        try
        {
            var port = ((IPEndPoint)front.ListenerEndPoint).Port;
            _redirect = await IncomingRedirect.CreateAsync(target, port, RedirectOptions.FromEnvironment(Environment.GetEnvironmentVariable), _logger, cancellationToken).ConfigureAwait(false);
            _front = front;
        }
        catch
        {
            await front.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task ReleaseIfUnusedAsync(int port, PortState state)
    {
        bool unused;
        lock (state)
        {
            unused = state.WholeSteals.Count == 0 && state.Subscriptions.Subscriptions.Count == 0 && state.IsWithoutMirrors;
        }

        if (unused && _redirect is not null)
        {
            _ports.TryRemove(port, out _);
            await _redirect.RemovePortAsync(port, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>The subscriptions of one port.</summary>
    private sealed class PortState
    {
        /// <summary>Unfiltered steals; the first one owns the port (<see cref="ActiveWholeSteal"/>).</summary>
        public List<IncomingSession> WholeSteals { get; } = [];

        /// <summary>
        /// The whole steals came after filtered ones with on_concurrent_steal = continue: they wait
        /// until no filtered steal is left (then the first takes the port, and this is cleared).
        /// </summary>
        public bool WholeWaits { get; set; }

        /// <summary>The whole steal that takes new connections now: the first, unless it waits for filtered steals; null: none.</summary>
        public IncomingSession? ActiveWholeSteal => WholeSteals.Count > 0 && !(WholeWaits && Filtered.Count > 0) ? WholeSteals[0] : null;

        public PortSubscriptions Subscriptions { get; } = new();

        /// <summary>Each session's filtered subscription of the port.</summary>
        public Dictionary<string, FilterSubscription> Filtered { get; } = new(StringComparer.Ordinal);

        /// <summary>Sessions that mirror the port whole, in subscription order.</summary>
        private List<IncomingSession> WholeMirrors { get; } = [];

        /// <summary>Filtered mirror subscriptions.</summary>
        private PortSubscriptions MirrorSubscriptions { get; } = new();

        /// <summary>Each session's filtered mirror subscription of the port.</summary>
        private Dictionary<string, FilterSubscription> MirrorFiltered { get; } = new(StringComparer.Ordinal);

        /// <summary>No mirror subscriptions.</summary>
        public bool IsWithoutMirrors => WholeMirrors.Count == 0 && MirrorFiltered.Count == 0;

        /// <summary>Adds a session's mirror subscription (whole when <paramref name="filter"/> is null).</summary>
        public void AddMirror(IncomingSession session, HttpFilterMatcher? filter)
        {
            if (filter is null)
            {
                WholeMirrors.Add(session);
            }
            else
            {
                MirrorFiltered[session.Id] = MirrorSubscriptions.Add(session.Id, filter);
            }
        }

        /// <summary>The port's mirrors for a new connection or request; null when it has none (call under the lock).</summary>
        public PortMirrors? Mirrors(Func<string, MirrorQueue?> queueOf)
        {
            if (IsWithoutMirrors)
            {
                return null;
            }

            var whole = new List<MirrorQueue>(WholeMirrors.Count);
            foreach (var session in WholeMirrors)
            {
                if (queueOf(session.Id) is { } queue)
                {
                    whole.Add(queue);
                }
            }

            return new PortMirrors(whole, MirrorFiltered.Count > 0 ? MirrorSubscriptions : null, queueOf);
        }

        /// <summary>Removes the session's subscription; false when it had none.</summary>
        public bool Remove(IncomingSession session)
        {
            lock (this)
            {
                var removed = WholeSteals.Remove(session) | WholeMirrors.Remove(session);
                if (MirrorFiltered.Remove(session.Id, out var mirrored))
                {
                    MirrorSubscriptions.Remove(mirrored);
                    removed = true;
                }

                if (Filtered.Remove(session.Id, out var filtered))
                {
                    Subscriptions.Remove(filtered);
                    removed = true;
                }

                if (WholeSteals.Count == 0 || Filtered.Count == 0)
                {
                    WholeWaits = false; // nothing waits, or the whole steal that waited has the port now
                }

                return removed;
            }
        }
    }
}

/// <summary>Where a new connection to a redirected port goes: <paramref name="WholeSteal"/> takes it whole; else <paramref name="Filtered"/> routes each HTTP request; neither: the app. <paramref name="Mirrors"/> get copies either way (null: none).</summary>
internal sealed record PortRoute(IncomingSession? WholeSteal, PortSubscriptions? Filtered, PortMirrors? Mirrors = null);
