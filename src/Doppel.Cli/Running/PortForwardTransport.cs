using System.Net;
using Doppel.Kubernetes;
using Doppel.Kubernetes.Agents;
using Doppel.Kubernetes.PortForward;
using Doppel.Session.Agent;
using k8s;
using k8s.Autorest;
using Microsoft.Extensions.Logging;

namespace Doppel.Cli.Running;

/// <summary>
/// A session's way to an agent in a cluster: each <see cref="ConnectAsync"/> is a new stream of
/// the API server's WebSocket port-forward to the agent pod's port (<see cref="PodPortForward"/>),
/// one per HTTP/2 connection of the session (control and relay lanes, first and after a drop).
/// <para>
/// When a stream cannot be opened because the agent's pod is gone — deleted, evicted, its agent
/// exited — a new agent is placed, and one warning says so once it is ready (or cannot be) (<c>replace</c>: a new Job, pod or
/// ephemeral container, as the first one was); the streams after that go to it, and the session's
/// own reconnects (calls retried, incoming subscriptions restored) carry on. Connections the old
/// agent carried are reset. The replacement runs once however many calls wait for it, and is not
/// cut short by one call's connect timeout (<see cref="AgentConnection.ConnectTimeout"/>): a call
/// that gives up leaves it running for the next.
/// </para>
/// </summary>
internal sealed class PortForwardTransport : IAgentTransport, IAsyncDisposable
{
    /// <summary>At most this many agents are placed after the first before doppel gives up on the session's agent.</summary>
    internal const int MaxReplacements = 5;

    private readonly KubeConnection _connection;
    private readonly Func<CancellationToken, Task<AgentWorkload>>? _replace;
    private readonly Action<string> _warn;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _lock = new();
    private readonly List<PodPortForward> _retired = [];
    private (AgentWorkload Workload, PodPortForward Forward) _current;
    private Task? _replacing;
    private int _replacements;

    /// <param name="connection">The cluster connection the agent was placed through.</param>
    /// <param name="workload">The agent placed first (ready: <see cref="AgentWorkload.PodName"/> set).</param>
    /// <param name="replace">Places and waits for a new agent (null: none is placed, a gone agent stays gone); the caller deletes what it placed.</param>
    /// <param name="warn">One line for the person once a gone agent's replacement is ready or cannot be placed.</param>
    /// <param name="logger">The port-forward's log.</param>
    public PortForwardTransport(KubeConnection connection, AgentWorkload workload, Func<CancellationToken, Task<AgentWorkload>>? replace, Action<string> warn, ILogger logger)
    {
        _connection = connection;
        _replace = replace;
        _warn = warn;
        _logger = logger;
        _current = (workload, Forward(workload));
    }

    /// <inheritdoc/>
    public string Address
    {
        get
        {
            lock (_lock)
            {
                return _current.Forward.Address;
            }
        }
    }

    /// <summary>The agent the streams go to now (the first, or the latest replacement).</summary>
    public AgentWorkload Current
    {
        get
        {
            lock (_lock)
            {
                return _current.Workload;
            }
        }
    }

    /// <inheritdoc/>
    /// <remarks>The current agent's (<see cref="AgentWorkload.Token"/>): a replacement agent has its own.</remarks>
    public string? Token
    {
        get
        {
            lock (_lock)
            {
                return _current.Workload.Token;
            }
        }
    }

    /// <inheritdoc/>
    public async ValueTask<Stream> ConnectAsync(CancellationToken cancellationToken)
    {
        (AgentWorkload Workload, PodPortForward Forward) current;
        lock (_lock)
        {
            current = _current;
        }

        try
        {
            return await current.Forward.ConnectAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (_replace is not null && e is IOException or KubeException && !cancellationToken.IsCancellationRequested)
        {
            if (await GoneAsync(current.Workload, cancellationToken).ConfigureAwait(false) is not { } why)
            {
                throw; // the pod is there: a passing failure, the session retries
            }

            await ReplaceAsync(current.Workload, why).WaitAsync(cancellationToken).ConfigureAwait(false);
            lock (_lock)
            {
                current = _current;
            }

            return await current.Forward.ConnectAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Ends the port-forwards (their open streams with them) and a replacement under way.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        Task? replacing;
        PodPortForward[] forwards;
        lock (_lock)
        {
            replacing = _replacing;
            forwards = [.. _retired, _current.Forward];
        }

        if (replacing is not null)
        {
            await replacing.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        foreach (var forward in forwards)
        {
            await forward.DisposeAsync().ConfigureAwait(false);
        }

        _stopping.Dispose();
    }

    private PodPortForward Forward(AgentWorkload workload) =>
        new(_connection, workload.Namespace, workload.PodName!, workload.Port, _logger);

    /// <summary>The one replacement of <paramref name="gone"/>: started by the first caller, awaited by all.</summary>
    private Task ReplaceAsync(AgentWorkload gone, string why)
    {
        lock (_lock)
        {
            if (!ReferenceEquals(_current.Workload, gone))
            {
                return Task.CompletedTask; // replaced already
            }

            if (_replacing is { IsCompleted: false })
            {
                return _replacing;
            }

            if (++_replacements > MaxReplacements)
            {
                throw new IOException($"The agent pod {gone.Namespace}/{gone.PodName} is gone ({why}) and {MaxReplacements} agents were placed after the first; doppel places no more.");
            }

            var lost = $"the agent pod {gone.Namespace}/{gone.PodName} is gone ({why})";
            PortForwardTransportLog.Replacing(_logger, lost);
            _replacing = Task.Run(() => PlaceAsync(lost));
            return _replacing;
        }
    }

    /// <summary>Places the next agent; one line, once it is ready or cannot be, says what became of the gone one (<paramref name="lost"/>).</summary>
    private async Task PlaceAsync(string lost)
    {
        AgentWorkload next;
        try
        {
            next = await _replace!(_stopping.Token).ConfigureAwait(false);
        }
        catch (KubeException e)
        {
            _warn($"{lost} and a new agent could not be started: {e.Message.TrimEnd('.')}; calls that need the pod fail until the program ends.");
            throw new IOException(e.Message, e);
        }

        lock (_lock)
        {
            _retired.Add(_current.Forward);
            _current = (next, Forward(next));
        }

        _warn($"{lost}; a new agent took over (pod {next.Namespace}/{next.PodName} on node {next.Node}) and the session carries on. Connections the old one carried were reset.");
    }

    /// <summary>
    /// Why the agent's pod is no longer an agent to connect to (deleted or being deleted, its agent
    /// container ended, the pod failed); null while it runs.
    /// </summary>
    private async Task<string?> GoneAsync(AgentWorkload workload, CancellationToken cancellationToken)
    {
        k8s.Models.V1Pod pod;
        try
        {
            pod = await _connection.Client.CoreV1.ReadNamespacedPodAsync(workload.PodName, workload.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return "deleted";
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException or IOException)
        {
            return null; // the API server cannot tell now: not known to be gone
        }

        if (pod.Metadata?.DeletionTimestamp is not null)
        {
            return "being deleted";
        }

        if (pod.Status?.Phase is "Failed" or "Succeeded")
        {
            return $"its phase is {pod.Status.Phase}{(string.IsNullOrEmpty(pod.Status.Reason) ? "" : $", {pod.Status.Reason}")}";
        }

        var terminated = pod.Status?.ContainerStatuses?.Concat(pod.Status?.EphemeralContainerStatuses ?? [])
            .FirstOrDefault(c => c.Name == workload.Container)?.State?.Terminated;
        return terminated is null ? null : $"the agent exited with code {terminated.ExitCode}";
    }
}

