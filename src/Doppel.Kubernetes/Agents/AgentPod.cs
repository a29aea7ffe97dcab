namespace Doppel.Kubernetes.Agents;

/// <summary>
/// A running doppel agent pod as <c>doppel status</c> finds it (<see cref="AgentPods"/>).
/// </summary>
/// <param name="Namespace">The agent pod's namespace.</param>
/// <param name="Name">The agent pod's name.</param>
/// <param name="JobName">The Job that owns the pod (its token Secret has the same name); null for a bare agent pod.</param>
/// <param name="Port">The port the agent listens on in its pod (from its <c>--listen 127.0.0.1:PORT</c>); 0 when not found.</param>
/// <param name="TargetPodUid">Label <see cref="AgentSharing.TargetPodUidLabel"/>; null for a targetless agent or one placed before sharing.</param>
/// <param name="Target">Annotation <see cref="AgentSharing.TargetAnnotation"/> (<c>NS/POD/CONTAINER</c>); null when absent.</param>
/// <param name="TargetPath">Annotation <see cref="AgentSharing.TargetPathAnnotation"/> (<c>deployment/bff</c>); null when absent.</param>
/// <param name="Phase">The pod's phase (Pending, Running, …).</param>
public sealed record AgentPod(string Namespace, string Name, string? JobName, int Port, string? TargetPodUid, string? Target, string? TargetPath, string Phase);
