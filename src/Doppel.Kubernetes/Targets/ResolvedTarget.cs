namespace Doppel.Kubernetes.Targets;

/// <summary>
/// A cluster target resolved to one running, ready pod and one of its containers.
/// </summary>
/// <param name="Namespace">The pod's namespace.</param>
/// <param name="Pod">The pod's name.</param>
/// <param name="Container">The container's name.</param>
/// <param name="ContainerId">The container's ID from the pod status without its runtime prefix (<c>containerd://</c>), for the agent to find its PID; null when the status has none yet.</param>
/// <param name="Node">The node the pod runs on.</param>
/// <param name="PodIP">The pod's IP address.</param>
public sealed record ResolvedTarget(string Namespace, string Pod, string Container, string? ContainerId, string Node, string? PodIP)
{
    /// <summary>The pod's UID (metadata.uid): the key a shared agent is found by (Doppel.Kubernetes.Agents.AgentSharing); null when not known.</summary>
    public string? Uid { get; init; }

    /// <summary>The target path the pod was resolved from (<c>deployment/bff</c>), for the agent's annotation; null when not known.</summary>
    public string? Path { get; init; }

    /// <summary>
    /// The pod's container ports that HTTP <c>httpGet</c> probes check (<see cref="KubeletProbes"/>),
    /// ascending; empty when none. The agent gets them as <c>--http-probe-ports</c>.
    /// </summary>
    public IReadOnlyList<int> HttpProbePorts { get; init; } = [];
}
