namespace Doppel.Kubernetes.Agents;

/// <summary>What doppel created in the cluster to run an agent.</summary>
public enum AgentWorkloadKind
{
    /// <summary>A batch/v1 Job whose one pod runs on the target pod's node (hostPID), the default.</summary>
    Job,

    /// <summary>A plain pod in the namespace, for <c>targetless</c> sessions.</summary>
    Pod,

    /// <summary>An ephemeral container added to the target pod (<c>-e</c>, <c>agent.ephemeral</c>).</summary>
    EphemeralContainer,
}

/// <summary>
/// An agent doppel placed in a cluster: what was created, where the agent runs and the port it
/// listens on inside that pod's network namespace (reached through the API server's
/// port-forward, never through a Service).
/// </summary>
/// <param name="Kind">What was created.</param>
/// <param name="Namespace">The namespace of the created object (and of the agent's pod).</param>
/// <param name="Name">The Job's, the pod's, or — for an ephemeral container — the target pod's name.</param>
/// <param name="Container">The agent's container name.</param>
/// <param name="Port">The TCP port the agent listens on (loopback of the agent pod's network namespace).</param>
public sealed record AgentWorkload(AgentWorkloadKind Kind, string Namespace, string Name, string Container, int Port)
{
    /// <summary>The pod the agent runs in, once known (a Job's pod gets its name from the Job controller).</summary>
    public string? PodName { get; init; }

    /// <summary>The node the agent's pod runs on, once scheduled.</summary>
    public string? Node { get; init; }

    /// <summary>
    /// The token the agent requires on every call (from its Secret, <see cref="AgentSharing"/>);
    /// null for an agent that requires none (an ephemeral container).
    /// </summary>
    public string? Token { get; init; }
}

/// <summary>
/// A Job agent shared by every session on one target pod (<see cref="AgentPlacement.AcquireJobAsync"/>).
/// </summary>
/// <param name="Workload">The agent's Job, ready (<see cref="AgentWorkload.PodName"/> and <see cref="AgentWorkload.Token"/> set).</param>
/// <param name="Joined">True when another session placed it and this one joined; false when this session placed it.</param>
public sealed record SharedAgent(AgentWorkload Workload, bool Joined);
