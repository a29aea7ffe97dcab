using System.Diagnostics;
using Doppel.Config;
using Doppel.Kubernetes;
using Doppel.Kubernetes.Agents;
using Doppel.Kubernetes.Targets;
using Doppel.Protocol.V1;
using Doppel.Session.Agent;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Doppel.Cli.Running;

/// <summary>
/// The cluster agents one doppel process uses, over one <see cref="KubeConnection"/>: the agent
/// beside the session's target pod, and (issue 12) one beside every other ready replica. A pod's
/// Job agent is shared by every session on that pod, of every developer (<see cref="AgentSharing"/>).
/// <code>
///   first For…                → deletes the agent Jobs of the agent namespace whose agent has ended, with their
///                               Secrets (SweepFinishedAsync: one list call; a kill -9'd session's leftovers)
///   ForPodAsync(pod)          → joins the pod's running agent, or places it (Job + token Secret on its node;
///                               -e: an ephemeral container in the pod, not shared), waits until it is ready
///                               → its transport (PortForwardTransport with the token: a gone agent is replaced)
///   ForTargetlessAsync(ns)    → a plain agent pod (+ token Secret) in ns, this session's alone → its transport
///   DisposeAsync              → ends every transport; then a shared agent whose Status lists no session any
///                               more is deleted (Job, pod, Secret) — another session's stays; targetless pods are deleted
/// </code>
/// Progress goes to the console ("starting agent on node N" → "agent ready (…, ms)"). Every failure
/// to place or reach an agent is a <see cref="KubeException"/> of one sentence. Not thread-safe
/// for <see cref="DisposeAsync"/> against calls still under way; the For… calls may run concurrently.
/// </summary>
internal sealed class ClusterAgents : IAsyncDisposable
{
    private static readonly TimeSpan s_deleteTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan s_lastSessionWait = TimeSpan.FromSeconds(2);

    private readonly KubeConnection _connection;
    private readonly AgentConfig _agent;
    private readonly IUserConsole _console;
    private readonly ILoggerFactory _loggers;
    private readonly AgentPlacement _placement;
    private readonly Lock _lock = new();
    private readonly List<AgentWorkload> _placed = [];
    private readonly List<PortForwardTransport> _transports = [];
    private readonly Dictionary<(string Namespace, string Name), PortForwardTransport> _shared = [];
    private Task? _sweep;
    private AgentWorkload? _starting; // the agent this process created and is waiting for (null once ready)
    private string? _startingEphemeral; // -e: the pod an ephemeral agent is being added to (NS/NAME)

    /// <param name="connection">The cluster (owned by the caller; it outlives this object).</param>
    /// <param name="agent">The <c>agent.*</c> settings every agent is placed with.</param>
    /// <param name="console">Progress lines and warnings (a gone agent, one that cannot be deleted).</param>
    /// <param name="loggers">The port-forwards' logs.</param>
    public ClusterAgents(KubeConnection connection, AgentConfig agent, IUserConsole console, ILoggerFactory loggers)
    {
        _connection = connection;
        _agent = agent;
        _console = console;
        _loggers = loggers;
        _placement = new AgentPlacement(connection, agent);
    }

    /// <summary>
    /// The agent beside <paramref name="pod"/>, ready, and the transport that reaches it: a Job on
    /// the pod's node, or with <c>agent.ephemeral</c> an ephemeral container in the pod. Throws
    /// <see cref="KubeException"/> (one sentence) when it cannot be placed or does not start.
    /// </summary>
    public Task<IAgentTransport> ForPodAsync(ResolvedTarget pod, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pod);
        if (_agent.Ephemeral)
        {
            // An ephemeral container cannot be deleted: nothing is recorded to delete; the agent
            // exits agent.ttl seconds after the session (docs/kubernetes.md).
            _startingEphemeral = $"{pod.Namespace}/{pod.Pod}";
            return PlaceAsync(
                $"in pod {pod.Namespace}/{pod.Pod} (ephemeral container)",
                ct => new EphemeralPlacement(_connection).PlaceAsync(pod, _agent, ct),
                cancellationToken);
        }

        return SharedAsync(pod, cancellationToken);
    }

    /// <summary>
    /// A targetless agent (a plain pod) in <paramref name="targetNamespace"/> (or <c>agent.namespace</c>),
    /// ready, and the transport that reaches it. Throws <see cref="KubeException"/> as <see cref="ForPodAsync"/>.
    /// </summary>
    public Task<IAgentTransport> ForTargetlessAsync(string targetNamespace, CancellationToken cancellationToken)
    {
        var ns = _placement.NamespaceFor(targetNamespace);
        return PlaceAsync($"in namespace {ns}", ct => JobAsync(() => _placement.CreateTargetlessPodAsync(ns, ct), ct), cancellationToken);
    }

    /// <summary>
    /// Ends every transport handed out; deletes every shared agent no session uses any more
    /// (<see cref="ReleaseSharedAsync"/>) and every workload this process placed for itself alone.
    /// A failure is one warning naming what is left.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        PortForwardTransport[] transports;
        AgentWorkload[] placed;
        KeyValuePair<(string Namespace, string Name), PortForwardTransport>[] shared;
        lock (_lock)
        {
            transports = [.. _transports];
            placed = [.. _placed];
            shared = [.. _shared];
            _transports.Clear();
            _placed.Clear();
            _shared.Clear();
        }

        foreach (var transport in transports)
        {
            await transport.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var workload in placed)
        {
            await DeleteAsync(workload).ConfigureAwait(false);
        }

        // All at once: one that cannot be asked (its pod gone with a replica) must not hold the
        // others up until their agents end on agent.ttl and cannot be asked either.
        await Task.WhenAll(shared.Select(s => ReleaseSharedAsync(s.Key.Namespace, s.Key.Name, s.Value))).ConfigureAwait(false);
    }

    /// <summary>
    /// The shared agent beside <paramref name="pod"/>: joined or placed (<see cref="AgentPlacement.AcquireJobAsync"/>);
    /// when its pod goes mid-session, the next one is found or placed the same way.
    /// </summary>
    private async Task<IAgentTransport> SharedAsync(ResolvedTarget pod, CancellationToken cancellationToken)
    {
        await SweepOnceAsync(pod.Namespace).ConfigureAwait(false);
        var clock = Stopwatch.StartNew();
        var first = await _console.ProgressAsync(
            $"starting agent on node {pod.Node}",
            () => _placement.AcquireJobAsync(pod, cancellationToken, created => _starting = created),
            a => $"agent ready (pod {a.Workload.Namespace}/{a.Workload.PodName} on node {a.Workload.Node}, {clock.ElapsedMilliseconds} ms{(a.Joined ? "; joined the agent another session placed" : "")})").ConfigureAwait(false);

        async Task<AgentWorkload> ReplaceAsync(CancellationToken stopping)
        {
            using var both = CancellationTokenSource.CreateLinkedTokenSource(stopping, cancellationToken);
            return (await _placement.AcquireJobAsync(pod, both.Token).ConfigureAwait(false)).Workload;
        }

        var transport = new PortForwardTransport(_connection, first.Workload, ReplaceAsync, _console.WriteWarning, _loggers.CreateLogger("doppel.portforward"));
        lock (_lock)
        {
            _transports.Add(transport);
            _shared[(first.Workload.Namespace, first.Workload.Name)] = transport;
        }

        return transport;
    }

    /// <summary>
    /// After Ctrl+C while an agent started (and after <see cref="DisposeAsync"/>): what became of
    /// it, as the end of one sentence — <c>deleted job NS/NAME.</c> when the API server no longer
    /// has it (or is deleting it), <c>job NS/NAME is left; delete it with `kubectl delete …`.</c>
    /// otherwise, the ephemeral container that stays in its pod, or <c>nothing was left in the
    /// cluster.</c> when this process had created nothing yet.
    /// </summary>
    public async Task<string> LeftBehindAsync()
    {
        if (_starting is { } created)
        {
            var kind = created.Kind == AgentWorkloadKind.Job ? "job" : "pod";
            using var timeout = new CancellationTokenSource(s_deleteTimeout);
            bool gone;
            try
            {
                gone = await _placement.IsGoneAsync(created, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is KubeException or OperationCanceledException)
            {
                gone = false;
            }

            return gone
                ? $"deleted {kind} {created.Namespace}/{created.Name}."
                : $"{kind} {created.Namespace}/{created.Name} is left; delete it with `kubectl delete {kind} {created.Name} -n {created.Namespace}`.";
        }

        return _startingEphemeral is { } pod
            ? $"an ephemeral agent container added to pod {pod} stays in its spec (Kubernetes cannot remove one) and exits by itself."
            : "nothing was left in the cluster.";
    }

    /// <summary>
    /// Before the first agent: the agent namespace's Jobs whose agent has ended are deleted with
    /// their Secrets (<see cref="AgentPlacement.SweepFinishedAsync"/>). Only once per process;
    /// a refusal (no <c>list jobs</c>) leaves them, logged, and does not stop the session.
    /// </summary>
    private Task SweepOnceAsync(string targetNamespace)
    {
        lock (_lock)
        {
            return _sweep ??= SweepAsync(_placement.NamespaceFor(targetNamespace));
        }
    }

    private async Task SweepAsync(string ns)
    {
        using var timeout = new CancellationTokenSource(s_deleteTimeout);
        try
        {
            var swept = await _placement.SweepFinishedAsync(ns, timeout.Token).ConfigureAwait(false);
            if (swept > 0)
            {
                ClusterAgentsLog.Swept(_loggers.CreateLogger("doppel.agents"), swept, ns);
            }
        }
        catch (Exception e) when (e is KubeException or OperationCanceledException)
        {
            ClusterAgentsLog.NotSwept(_loggers.CreateLogger("doppel.agents"), ns, e.Message);
        }
    }

    /// <summary>
    /// The session left a shared agent: when the agent lists no session any more (<c>Status</c>;
    /// asked for up to 2 s, as the agent notices this session's connections closing a moment
    /// later), this session was the last and deletes the Job, its pod and Secret; else it stays
    /// for the others, and ends <c>agent.ttl</c> seconds after the last of them. An agent that
    /// cannot be asked is deleted too when its Job has ended (its idle time ran out, its pod went with a
    /// replica); one that has not (an older agent, an API server that cannot tell) is left, and swept once ended.
    /// </summary>
    private async Task ReleaseSharedAsync(string ns, string name, PortForwardTransport transport)
    {
        using var timeout = new CancellationTokenSource(s_deleteTimeout);
        var status = new PortForwardTransport(_connection, transport.Current, replace: null, _ => { }, _loggers.CreateLogger("doppel.portforward"));
        await using (status.ConfigureAwait(false))
        {
            using var channel = AgentConnection.OpenChannel(status);
            var clock = Stopwatch.StartNew();
            while (true)
            {
                int sessions;
                try
                {
                    var answer = await new AgentService.AgentServiceClient(channel).StatusAsync(
                        new StatusRequest(), deadline: DateTime.UtcNow + AgentConnection.ConnectTimeout, cancellationToken: timeout.Token).ConfigureAwait(false);
                    sessions = answer.Sessions.Count;
                }
                catch (Exception e) when (e is RpcException or IOException or KubeException or OperationCanceledException)
                {
                    // An agent that has ended (its idle time ran out, its pod went with a replica)
                    // serves no one: its Job and Secret go now, not at the next doppel's sweep.
                    if (!await EndedAsync(ns, name, timeout.Token).ConfigureAwait(false))
                    {
                        ClusterAgentsLog.NotAsked(_loggers.CreateLogger("doppel.agents"), ns, name, e.Message);
                        return;
                    }

                    break;
                }

                if (sessions == 0)
                {
                    break;
                }

                if (clock.Elapsed >= s_lastSessionWait)
                {
                    _console.WriteInfo($"left the shared agent {ns}/{name}; it stays for the {(sessions == 1 ? "other session" : $"{sessions} other sessions")} on it.");
                    return;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(200), timeout.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }

        try
        {
            await _placement.DeleteSharedAsync(ns, name, waitGone: false, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is KubeException or OperationCanceledException)
        {
            _console.WriteWarning(
                $"the agent's job {ns}/{name} could not be deleted ({(e is KubeException ? e.Message.TrimEnd('.') : "no answer within 10 s")}); " +
                $"it ends agent.ttl seconds after the session, or delete it with `kubectl delete job {name} -n {ns}`.");
        }
    }

    /// <summary>Whether the shared agent's Job has ended; false when the API server cannot tell.</summary>
    private async Task<bool> EndedAsync(string ns, string name, CancellationToken cancellationToken)
    {
        try
        {
            return await _placement.IsFinishedAsync(ns, name, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is KubeException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>
    /// Places an agent with <paramref name="place"/> under one progress line, and returns its
    /// transport, which places the next one the same way when the agent's pod goes.
    /// </summary>
    private async Task<IAgentTransport> PlaceAsync(string where, Func<CancellationToken, Task<AgentWorkload>> place, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var workload = await _console.ProgressAsync(
            $"starting agent {where}",
            () => place(cancellationToken),
            w => $"agent ready (pod {w.Namespace}/{w.PodName}{(w.Kind == AgentWorkloadKind.EphemeralContainer ? $", container {w.Container}" : "")} on node {w.Node}, {clock.ElapsedMilliseconds} ms)").ConfigureAwait(false);

        // The agent's pod deleted or evicted mid-session: a new agent placed as this one was.
        async Task<AgentWorkload> ReplaceAsync(CancellationToken stopping)
        {
            using var both = CancellationTokenSource.CreateLinkedTokenSource(stopping, cancellationToken);
            return await place(both.Token).ConfigureAwait(false);
        }

        var transport = new PortForwardTransport(_connection, workload, ReplaceAsync, _console.WriteWarning, _loggers.CreateLogger("doppel.portforward"));
        lock (_lock)
        {
            _transports.Add(transport);
        }

        return transport;
    }

    /// <summary>Creates a Job or pod with <paramref name="create"/>, records it for deletion, and waits until its agent is ready.</summary>
    private async Task<AgentWorkload> JobAsync(Func<Task<AgentWorkload>> create, CancellationToken cancellationToken)
    {
        var created = await create().ConfigureAwait(false);
        lock (_lock)
        {
            _placed.Add(created);
            _starting = created;
        }

        var ready = await _placement.WaitReadyAsync(created, cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            // The ready form knows the pod: its delete ends the agent now, not when the garbage collector comes.
            var at = _placed.IndexOf(created);
            if (at >= 0)
            {
                _placed[at] = ready;
            }
        }

        return ready;
    }

    /// <summary>Deletes the agent's workload whatever happened (also after Ctrl+C); a failure is one warning naming what is left.</summary>
    private async Task DeleteAsync(AgentWorkload workload)
    {
        using var timeout = new CancellationTokenSource(s_deleteTimeout);
        try
        {
            await _placement.DeleteAsync(workload, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is KubeException or OperationCanceledException)
        {
            var kind = workload.Kind == AgentWorkloadKind.Job ? "job" : "pod";
            _console.WriteWarning(
                $"the agent's {kind} {workload.Namespace}/{workload.Name} could not be deleted ({(e is KubeException ? e.Message.TrimEnd('.') : "no answer within 10 s")}); " +
                $"it ends agent.ttl seconds after the session, or delete it with `kubectl delete {kind} {workload.Name} -n {workload.Namespace}`.");
        }
    }
}
