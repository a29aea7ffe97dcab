using System.Net;
using Doppel.Linux.Sockets;
using Doppel.Session.Agent;
using Microsoft.Extensions.Logging;

namespace Doppel.Session.Incoming;

/// <summary>
/// A session's incoming traffic at several agents (issue 12 item 3: every replica of a workload):
/// the session's own agent (<see cref="First"/>) and one more per other replica, each with its own
/// <see cref="IncomingTraffic"/> (its Subscribe call, Serve calls, reconnects) over its own
/// <see cref="AgentConnection"/>, all delivering to the same local listeners.
/// <code>
///   supervisor: OnListening(local, requested) ─► recorded, and handed to every agent's IncomingTraffic
///   port-forward -R: Forward(target port, local app) ─► the same
///   AddAsync(name, transport): connect (hello) ─► new IncomingTraffic (shared counts, delivered clients)
///       ─► the listeners still listening replayed to it ─► "incoming: also stealing from NAME (N replicas)"
///   RemoveAsync(name): its IncomingTraffic disposed (unsubscribe, bounded) ─► connection closed ─► "incoming: NAME left (N replicas)"
/// </code>
/// Counts are summed (one <see cref="IncomingCounts"/>), so the <c>-v</c> summary covers every
/// replica. A further agent's per-port lines are logged, not shown (the first agent's already
/// were); its errors and warnings are shown with the replica's name in front.
/// </summary>
internal sealed class IncomingReplicas : IAsyncDisposable
{
    private static readonly TimeSpan s_removeWait = TimeSpan.FromSeconds(5);

    private readonly Factory _create;
    private readonly Action<string> _info;
    private readonly Action<string> _warn;
    private readonly Action<string> _error;

    /// <summary>A replica's warning: said once for all replicas (the same notice comes from each agent), with the first one's name.</summary>
    private readonly Action<string, string> _replicaWarn;
    private readonly ILogger _logger;
    private readonly IncomingOutage _outage;
    private readonly Lock _gate = new();

    // Every listen reported, by local end point: the port asked for and when (a sequence number).
    private readonly Dictionary<IPEndPoint, (int Requested, long Seq)> _listens = [];

    // port-forward -R: target port → local app, handed to every agent, added ones too.
    private readonly List<(int TargetPort, IPEndPoint App)> _forwards = [];
    private readonly Dictionary<string, Replica> _more = new(StringComparer.Ordinal);
    private long _seq;

    /// <param name="create">Makes the IncomingTraffic of one agent connection.</param>
    /// <param name="connection">The session's own agent.</param>
    /// <param name="describe">The word for the mode in progress lines: <c>stealing</c> or <c>mirroring</c>.</param>
    public IncomingReplicas(
        Factory create,
        AgentConnection connection,
        string describe,
        Action<string> info,
        Action<string> warn,
        Action<string> error,
        ILogger logger)
    {
        _create = create;
        _info = info;
        var quiet = new QuietRepeats(TimeProvider.System, line => IncomingLog.SaidAlready(logger, line));
        _warn = line => quiet.Say(line, warn);
        _error = line => quiet.Say(line, error);
        _replicaWarn = (prefix, line) => quiet.Say(line, prefix + line, warn);
        _logger = logger;
        _outage = new IncomingOutage(warn, info, logger);
        Doing = describe;
        First = create(connection, info, _warn, _error, Counts, Delivered, _outage.For("", ""));
    }

    /// <summary>
    /// Makes the IncomingTraffic of one agent connection with these progress, warning and error sinks,
    /// adding to these counts and delivered connections, saying the loss and return of its subscriptions through <paramref name="outage"/>.
    /// </summary>
    public delegate IncomingTraffic Factory(AgentConnection connection, Action<string> info, Action<string> warn, Action<string> error, IncomingCounts counts, DeliveredClients delivered, IncomingOutage.Agent outage);

    /// <summary>The session's own agent's incoming traffic.</summary>
    public IncomingTraffic First { get; }

    /// <summary>What the agents handed over, summed, for the <c>-v</c> summary.</summary>
    public IncomingCounts Counts { get; } = new();

    /// <summary>The whole TCP connections being delivered by any agent, for the app's getpeername.</summary>
    public DeliveredClients Delivered { get; } = new();

    /// <summary><c>stealing</c> or <c>mirroring</c>.</summary>
    public string Doing { get; }

    // The session's own agent, while its pod is there (FirstTargetGone).
    private int Own => _firstGone ? 0 : 1;

    private bool _firstGone;

    /// <summary>
    /// The session's own pod is gone (deleted, scaled away): its agent no longer counts among the
    /// replicas in the progress lines (<c>(N replicas)</c>). Its calls keep being retried as before.
    /// </summary>
    public void FirstTargetGone()
    {
        lock (_gate)
        {
            _firstGone = true;
        }
    }

    /// <summary>How many agents take this session's incoming traffic (the session's own included while its pod is there).</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return Own + _more.Count;
            }
        }
    }

    /// <summary>Whether the program has listened at all (a TCP listener reported since the session began), or a port is forwarded (<see cref="Forward"/>).</summary>
    public bool HasListened
    {
        get
        {
            lock (_gate)
            {
                return _listens.Count > 0 || _forwards.Count > 0;
            }
        }
    }

    /// <summary>
    /// <c>doppel port-forward -R</c>: subscribes <paramref name="targetPort"/> at every agent, added
    /// ones too (<see cref="IncomingTraffic.Forward"/>), delivered to <paramref name="app"/>.
    /// </summary>
    public void Forward(int targetPort, IPEndPoint app)
    {
        IncomingTraffic[] more;
        lock (_gate)
        {
            _forwards.Add((targetPort, app));
            more = [.. _more.Values.Select(r => r.Traffic)];
        }

        First.Forward(targetPort, app);
        foreach (var traffic in more)
        {
            traffic.Forward(targetPort, app);
        }
    }

    /// <summary>The interception policy's listen report (supervisor thread: no I/O): handed to every agent's traffic.</summary>
    public void OnListening(IPEndPoint local, int requestedPort)
    {
        IncomingTraffic[] more;
        lock (_gate)
        {
            _listens[local] = (requestedPort, ++_seq);
            more = [.. _more.Values.Select(r => r.Traffic)];
        }

        First.OnListening(local, requestedPort);
        foreach (var traffic in more)
        {
            traffic.OnListening(local, requestedPort);
        }
    }

    /// <summary>
    /// <see cref="AddAsync(string, Func{CancellationToken, Task{AgentConnection}}, CancellationToken)"/> with the agent
    /// <paramref name="transport"/> reaches, connected to as the session's own (<paramref name="key"/>: the session key;
    /// <paramref name="clientVersion"/>: doppel's version, for the hello): what <see cref="IIncomingAgents.AddIncomingAgentAsync"/> does.
    /// </summary>
    public Task AddAsync(string name, IAgentTransport transport, string key, string clientVersion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentException.ThrowIfNullOrEmpty(name);
        return AddAsync(name, ct => AgentConnection.ConnectAsync(transport, key, clientVersion, ct), cancellationToken);
    }

    /// <summary>
    /// Subscribes the session's incoming ports at one more agent, connected to by <paramref name="connect"/>,
    /// under <paramref name="name"/> (<c>pod bff-7d…-x2</c>, unique among them). Throws what
    /// <paramref name="connect"/> throws (<see cref="AgentConnectionException"/>: one sentence) or
    /// <see cref="InvalidOperationException"/> when <paramref name="name"/> is taken.
    /// </summary>
    public async Task AddAsync(string name, Func<CancellationToken, Task<AgentConnection>> connect, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_more.ContainsKey(name))
            {
                throw new InvalidOperationException($"incoming traffic is already taken from {name}");
            }
        }

        var connection = await connect(cancellationToken).ConfigureAwait(false);
        var prefix = $"replica {name}: ";
        var traffic = _create(
            connection,
            line => IncomingLog.ReplicaLine(_logger, name, line),
            line => _replicaWarn(prefix, line),
            line => _error(prefix + line),
            Counts,
            Delivered,
            _outage.For(name, prefix));

        // Listeners reported before the snapshot are replayed only when still listening (a listener
        // closed since would be stolen with nothing behind it); ones reported after it always are.
        long before;
        lock (_gate)
        {
            before = _seq;
        }

        HashSet<int> listening;
        try
        {
            listening = SockDiag.List(1u << SockDiag.Listen).Select(s => s.Local.Port).ToHashSet();
        }
        catch (IOException e)
        {
            IncomingLog.ListenerWatchFailed(_logger, e.Message);
            listening = [];
        }

        int count;
        lock (_gate)
        {
            _more[name] = new Replica(connection, traffic);
            count = Own + _more.Count;
            foreach (var (targetPort, app) in _forwards)
            {
                traffic.Forward(targetPort, app);
            }

            foreach (var (local, (requested, seq)) in _listens.ToList())
            {
                if (seq > before || listening.Contains(local.Port))
                {
                    traffic.OnListening(local, requested);
                }
                else
                {
                    _listens.Remove(local);
                }
            }
        }

        // Not "also stealing" when the session takes nothing: a port refused (another session
        // steals it whole) is refused at the new replica too.
        _info(First.TakesNothingAfterRefusal
            ? $"incoming: {name} joined ({Replicas(count)}); the session's ports are subscribed there as they are here"
            : $"incoming: also {Doing} from {name} ({Replicas(count)})");
    }

    private static string Replicas(int count) => count == 1 ? "1 replica" : $"{count} replicas";

    /// <summary>
    /// Ends the subscriptions at the agent added as <paramref name="name"/> (a pod gone): unsubscribes
    /// (waiting at most 5 s: the pod may be gone with its agent) and closes its connection. False when there is none.
    /// </summary>
    public async Task<bool> RemoveAsync(string name)
    {
        Replica? replica;
        int count;
        lock (_gate)
        {
            if (!_more.Remove(name, out replica))
            {
                return false;
            }

            count = Own + _more.Count;
        }

        await EndAsync(replica).ConfigureAwait(false);
        _outage.Forget(name);
        _info($"incoming: {name} left ({Replicas(count)})");
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        Replica[] more;
        lock (_gate)
        {
            more = [.. _more.Values];
            _more.Clear();
        }

        await Task.WhenAll(more.Select(EndAsync).Append(First.DisposeAsync().AsTask())).ConfigureAwait(false);
    }

    private async Task EndAsync(Replica replica)
    {
        var ending = replica.Traffic.DisposeAsync().AsTask();
        if (await Task.WhenAny(ending, Task.Delay(s_removeWait)).ConfigureAwait(false) != ending)
        {
            IncomingLog.ReplicaEndSlow(_logger, replica.Connection.Address);
        }

        await replica.Connection.SayEndingAsync().ConfigureAwait(false);
        replica.Connection.Dispose();
    }

    private sealed record Replica(AgentConnection Connection, IncomingTraffic Traffic);
}
