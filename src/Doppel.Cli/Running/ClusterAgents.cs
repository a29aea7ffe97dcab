using System.Diagnostics;
using Doppel.Config;
using Doppel.Kubernetes;
using Doppel.Kubernetes.Agents;
using Doppel.Kubernetes.Targets;
using Doppel.Session.Agent;
using Microsoft.Extensions.Logging;

namespace Doppel.Cli.Running;

/// <summary>
/// The cluster agents one doppel process uses, over one <see cref="KubeConnection"/>: the agent
/// beside the session's target pod, and (issue 12) one beside every other ready replica.
/// <code>
///   ForPodAsync(pod)          → places the agent beside pod (a Job on its node; -e: an ephemeral container in it),
///                               waits until it is ready → its transport (PortForwardTransport: a gone agent is replaced)
///   ForTargetlessAsync(ns)    → a plain agent pod in ns → its transport
///   DisposeAsync              → ends every transport, then deletes every workload placed (replacements too)
/// </code>
/// Progress goes to the console ("starting agent on node N" → "agent ready (…, ms)"). Every failure
/// to place or reach an agent is a <see cref="KubeException"/> of one sentence. Not thread-safe
/// for <see cref="DisposeAsync"/> against calls still under way; the For… calls may run concurrently.
/// </summary>
internal sealed class ClusterAgents : IAsyncDisposable
{
    private static readonly TimeSpan s_deleteTimeout = TimeSpan.FromSeconds(10);

    private readonly KubeConnection _connection;
    private readonly AgentConfig _agent;
    private readonly IUserConsole _console;
    private readonly ILoggerFactory _loggers;
    private readonly AgentPlacement _placement;
    private readonly Lock _lock = new();
    private readonly List<AgentWorkload> _placed = [];
    private readonly List<PortForwardTransport> _transports = [];

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
            return PlaceAsync(
                $"in pod {pod.Namespace}/{pod.Pod} (ephemeral container)",
                ct => new EphemeralPlacement(_connection).PlaceAsync(pod, _agent, ct),
                cancellationToken);
        }

        return PlaceAsync($"on node {pod.Node}", ct => JobAsync(() => _placement.CreateJobAsync(pod, ct), ct), cancellationToken);
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

    /// <summary>Ends every transport handed out, then deletes every agent workload placed (a failure is one warning naming what is left).</summary>
    public async ValueTask DisposeAsync()
    {
        PortForwardTransport[] transports;
        AgentWorkload[] placed;
        lock (_lock)
        {
            transports = [.. _transports];
            placed = [.. _placed];
            _transports.Clear();
            _placed.Clear();
        }

        foreach (var transport in transports)
        {
            await transport.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var workload in placed)
        {
            await DeleteAsync(workload).ConfigureAwait(false);
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
