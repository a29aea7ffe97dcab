using Doppel.Config;
using Doppel.Kubernetes;
using Doppel.Kubernetes.Targets;
using Doppel.Session.Agent;
using Doppel.Session.Incoming;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace Doppel.Cli.Running;

/// <summary>
/// Follows the replicas of a workload target for incoming traffic (issue 12 item 3): every ready
/// pod the target's selector selects, other than the session's own pod, gets an agent and the
/// session's subscriptions (<see cref="IIncomingAgents.AddIncomingAgentAsync"/>: exec's session, or
/// port-forward's with -R), so a developer's
/// filtered request reaches them whichever replica the Service picked; a pod that goes (deleted,
/// scaled down, replaced by a rollout, no longer ready) is dropped.
/// <code>
///   every second: list pods (selector) ─► (once the program has listened) ready, not being deleted, not the session's pod
///       new ─► agentFor(pod) (an agent beside it, ready) ─► AddIncomingAgentAsync ─► "incoming: also stealing from pod P (N replicas)"
///       gone ─► RemoveIncomingAgentAsync ─► "incoming: pod P left (N replicas)"
///       a pod whose agent could not be placed or reached: one warning, tried again 30 s later
///       the session's own pod gone: one warning (its env, files and outgoing traffic fail from then on)
/// </code>
/// A list (not a watch): it is one request a second, works the same on every API server version,
/// and recovers from an API server restart by itself. Env, files and outgoing stay with the
/// session's own pod. Replicas are followed only for targets that name them
/// (<see cref="TargetResolver.ReplicaSelectorAsync"/>) and sessions that take incoming traffic;
/// for the others (a <c>pod/</c> target, incoming off) only the session's own pod is watched (one
/// get a second), so that its going is said rather than found out call by call.
/// </summary>
internal sealed class ReplicaFollower : IAsyncDisposable
{
    private static readonly TimeSpan s_period = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan s_retryAfter = TimeSpan.FromSeconds(30);

    private readonly TargetResolver _resolver;
    private readonly TargetConfig _target;
    private readonly string _namespace;
    private readonly string? _selector; // null: the session's own pod only
    private readonly string _ownPod;
    private readonly IIncomingAgents _session;
    private readonly Func<ResolvedTarget, CancellationToken, Task<IAgentTransport>> _agentFor;
    private readonly IUserConsole _console;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<string, Replica> _replicas = new(StringComparer.Ordinal);
    private readonly Task _loop;
    // A listing failing this long is said (a restart of the API server is over sooner, and the
    // incoming subscriptions say their own loss and return).
    private static readonly TimeSpan s_listFailureSaidAfter = TimeSpan.FromSeconds(15);
    private long? _listFailingSince;
    private bool _listFailureSaid;
    private bool _ownPodGone;

    private ReplicaFollower(
        TargetResolver resolver, TargetConfig target, string ns, string? selector, string ownPod, IIncomingAgents session,
        Func<ResolvedTarget, CancellationToken, Task<IAgentTransport>> agentFor, IUserConsole console, ILogger logger)
    {
        _resolver = resolver;
        _target = target;
        _namespace = ns;
        _selector = selector;
        _ownPod = ownPod;
        _session = session;
        _agentFor = agentFor;
        _console = console;
        _logger = logger;
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>
    /// Starts following the replicas of <paramref name="target"/> (resolved to <paramref name="ownPod"/>,
    /// whose agent the session already has); only the session's own pod when the session takes no
    /// incoming traffic or the target names one pod. <paramref name="agentFor"/> places (or finds)
    /// the agent beside a pod and returns its transport, throwing <see cref="KubeException"/> (one
    /// sentence) when it cannot. A selector that cannot be read is one warning and null.
    /// </summary>
    public static async Task<ReplicaFollower?> StartAsync(
        KubeConnection connection, TargetConfig target, ResolvedTarget ownPod, IIncomingAgents session,
        Func<ResolvedTarget, CancellationToken, Task<IAgentTransport>> agentFor, IUserConsole console, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(ownPod);
        ArgumentNullException.ThrowIfNull(session);
        var resolver = new TargetResolver(connection);
        if (!session.TakesIncoming)
        {
            return new ReplicaFollower(resolver, target, ownPod.Namespace, null, ownPod.Pod, session, agentFor, console, logger);
        }

        string? selector;
        try
        {
            selector = await resolver.ReplicaSelectorAsync(target, cancellationToken).ConfigureAwait(false);
        }
        catch (KubeException e)
        {
            console.WriteWarning($"the replicas of {target.Path} cannot be followed ({e.Message.TrimEnd('.')}); incoming traffic is taken at pod {ownPod.Pod} only.");
            return null;
        }

        return new ReplicaFollower(resolver, target, ownPod.Namespace, selector, ownPod.Pod, session, agentFor, console, logger);
    }

    /// <summary>Stops following and joining; the subscriptions at the replicas' agents end with the session (the session's DisposeAsync).</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        foreach (var name in _replicas.Keys.ToList())
        {
            await DropAsync(name, remove: false).ConfigureAwait(false);
        }

        _stop.Dispose();
    }

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(s_period);
        try
        {
            do
            {
                await TickAsync().ConfigureAwait(false);
            }
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    private async Task TickAsync()
    {
        IReadOnlyList<V1Pod> pods;
        try
        {
            pods = _selector is not null
                ? await _resolver.ListPodsAsync(_namespace, _selector, _stop.Token).ConfigureAwait(false)
                : await _resolver.FindPodAsync(_namespace, _ownPod, _stop.Token).ConfigureAwait(false) is { } own ? [own] : [];
            _listFailingSince = null;
            if (_listFailureSaid)
            {
                _listFailureSaid = false;
                _console.WriteInfo(_selector is null ? $"the session's pod {_namespace}/{_ownPod} is looked up again." : $"the pods of {_target.Path} are listed again; replicas are followed.");
            }
        }
        catch (Exception e) when (e is KubeException || (e is OperationCanceledException && !_stop.IsCancellationRequested))
        {
            // An API server restarting, a dropped connection, a request timed out: the next tick tries again.
            var reason = e is KubeException ? e.Message.TrimEnd('.') : "no answer in time";
            ReplicaLog.ListFailed(_logger, reason);
            _listFailingSince ??= Environment.TickCount64;
            if (!_listFailureSaid && Environment.TickCount64 - _listFailingSince >= (long)s_listFailureSaidAfter.TotalMilliseconds)
            {
                _listFailureSaid = true;
                _console.WriteWarning(_selector is null
                    ? $"the session's pod {_namespace}/{_ownPod} cannot be looked up ({reason}); doppel looks again once the API server answers."
                    : $"the pods of {_target.Path} cannot be listed ({reason}); replicas are followed again once the API server answers.");
            }

            return;
        }

        if (!_ownPodGone && !pods.Any(p => p.Metadata.Name == _ownPod && p.Metadata.DeletionTimestamp is null))
        {
            // Deleted, scaled down, replaced by a rollout: the session's env, files and outgoing
            // traffic were that pod's. Said once, not silently failing call after call.
            _ownPodGone = true;
            _session.IncomingTargetGone();
            var others = _selector is null
                ? $"run doppel again with a target that is there{(_session.TakesIncoming ? "; its incoming requests are gone with it" : "")}."
                : pods.Any(p => p.Metadata.Name != _ownPod && p.Metadata.DeletionTimestamp is null)
                ? $"while incoming requests still come through the other replicas of {_target.Path}; run doppel again to take one of them."
                : $"and {_target.Path} has no other pod now (incoming requests come through its replicas again once it has); run doppel again to take one of them.";
            _console.WriteWarning(
                $"the session's pod {_namespace}/{_ownPod} is gone (deleted or being deleted); its files, DNS and outgoing connections go with it and fail from now on, " + others);
        }

        if (_selector is null || !_session.IncomingListened)
        {
            return; // no replicas to follow, or no agents at them for a program that has not listened (it may never)
        }

        var ready = pods.Where(p => TargetResolver.IsReady(p) && p.Metadata.Name != _ownPod).ToDictionary(p => p.Metadata.Name, StringComparer.Ordinal);
        foreach (var name in _replicas.Keys.Where(n => !ready.ContainsKey(n)).ToList())
        {
            await DropAsync(name, remove: true).ConfigureAwait(false);
        }

        var now = DateTime.UtcNow;
        foreach (var (name, pod) in ready)
        {
            if (_replicas.TryGetValue(name, out var known))
            {
                if (known.Joining.IsFaulted && now - known.Since > s_retryAfter)
                {
                    _replicas.Remove(name);
                    known.Stop.Dispose();
                }
                else
                {
                    continue;
                }
            }

            var stop = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            _replicas[name] = new Replica(JoinAsync(pod, stop.Token), stop, now);
        }
    }

    /// <summary>Places (or finds) the agent beside <paramref name="pod"/> and subscribes the session there; a failure is one warning.</summary>
    private async Task JoinAsync(V1Pod pod, CancellationToken cancellationToken)
    {
        await Task.Yield();
        var name = pod.Metadata.Name;
        try
        {
            var resolved = TargetResolver.FromPod(_target.Path, pod, _target.Container);
            var transport = await _agentFor(resolved, cancellationToken).ConfigureAwait(false);
            await _session.AddIncomingAgentAsync(transport, "pod " + name, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            // Any failure is told (a join that fails unseen leaves the replica's requests to its app for 30 s).
            _console.WriteWarning($"replica pod {name} of {_target.Path} gets no incoming subscriptions ({e.Message.TrimEnd('.')}); requests the Service sends it go to its app; doppel tries again in 30 s.");
            throw;
        }
    }

    /// <summary>Stops joining <paramref name="name"/> if still under way and, with <paramref name="remove"/>, ends its subscriptions.</summary>
    private async Task DropAsync(string name, bool remove)
    {
        if (!_replicas.Remove(name, out var replica))
        {
            return;
        }

        await replica.Stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await replica.Joining.ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or KubeException or AgentConnectionException or Grpc.Core.RpcException or InvalidOperationException)
        {
            ReplicaLog.JoinEnded(_logger, name, e.Message);
        }

        replica.Stop.Dispose();
        if (remove)
        {
            await _session.RemoveIncomingAgentAsync("pod " + name).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The environment variable naming, for a local target, the unix sockets (separated by <c>:</c>)
    /// of agents that serve other replicas of it (<c>doppel-agent --target pid/N --listen unix:PATH</c>,
    /// one per replica): the session's incoming ports are subscribed at each of them too, as at every
    /// replica of a cluster workload (docs/cli.md).
    /// </summary>
    public const string LocalSocketsVariable = "DOPPEL_REPLICA_AGENT_SOCKETS";

    /// <summary>
    /// Subscribes the session's incoming traffic also at the agents on the unix sockets
    /// <paramref name="sockets"/> lists (<see cref="LocalSocketsVariable"/>), each named
    /// <c>agent unix:PATH</c>; one that cannot be reached is one warning. Returns null (nothing to stop:
    /// the subscriptions end with the session).
    /// </summary>
    public static async Task<IAsyncDisposable?> AddLocalAsync(IIncomingAgents session, string sockets, IUserConsole console, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(sockets);
        ArgumentNullException.ThrowIfNull(console);
        foreach (var path in sockets.Split(':', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal))
        {
            var agent = AgentEndpoint.Unix(path);
            try
            {
                await session.AddIncomingAgentAsync(agent, "agent " + agent.Address, cancellationToken).ConfigureAwait(false);
            }
            catch (AgentConnectionException e) when (!cancellationToken.IsCancellationRequested)
            {
                console.WriteWarning($"{LocalSocketsVariable} names {agent.Address}, which gets no incoming subscriptions ({e.Message.TrimEnd('.')}).");
            }
        }

        return null;
    }

    private sealed record Replica(Task Joining, CancellationTokenSource Stop, DateTime Since);
}

/// <summary>The replica follower's log messages (event ids 470–479).</summary>
internal static partial class ReplicaLog
{
    [LoggerMessage(EventId = 470, Level = LogLevel.Information, Message = "replicas: the pods could not be listed: {Reason}")]
    public static partial void ListFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 471, Level = LogLevel.Debug, Message = "replicas: joining {Pod} ended: {Reason}")]
    public static partial void JoinEnded(ILogger logger, string pod, string reason);
}
