using Doppel.Config;
using Doppel.Kubernetes.Targets;
using k8s;
using k8s.Models;

namespace Doppel.Kubernetes.Agents;

/// <summary>
/// Places the agent as an ephemeral container in the target pod (<c>-e</c>, <c>agent.ephemeral</c>):
/// <code>
///   doppel --PATCH pods/POD/ephemeralcontainers--> API server --> kubelet starts container
///   doppel-agent-XXXXXX (targetContainerName = the target container: its PID namespace;
///   the pod's network namespace) listening on 127.0.0.1:PORT of the pod
/// </code>
/// The subresource takes one of two shapes, chosen by what discovery says its kind is
/// (<c>GET /api/v1</c>, resource <c>pods/ephemeralcontainers</c>): an <c>EphemeralContainers</c>
/// object (Kubernetes 1.16–1.21; sent as a JSON patch that appends to <c>/ephemeralContainers</c>,
/// what kubectl's legacy path sends) or a Pod (1.22 and later; a strategic-merge patch of
/// <c>spec.ephemeralContainers</c>). Neither shape is tried blindly: a 1.20 server answers the newer
/// shape with 200 and adds nothing.
/// <para>
/// Ephemeral containers cannot be removed: the agent exits after its last session plus
/// <c>agent.ttl</c> seconds, and the pod keeps a terminated container entry until the pod is
/// replaced. Keys of <c>agent</c> that describe a pod of its own (namespace, resources,
/// tolerations, node_selector, service_account, priority_class, labels, annotations,
/// image_pull_secrets) do not apply: the container shares the target pod's.
/// </para>
/// Every failure is a <see cref="KubeException"/> of one sentence: the cluster does not allow
/// ephemeral containers, RBAC forbids <c>patch pods/ephemeralcontainers</c>, the image cannot be
/// pulled, the agent exited (its last log lines), or it did not start within <c>agent.startup_timeout</c>.
/// </summary>
public sealed partial class EphemeralPlacement(KubeConnection connection)
{
    /// <summary>The prefix of the agent's container name; 6 random hex digits follow.</summary>
    public const string ContainerPrefix = "doppel-agent-";

    /// <summary>The agent's ports are drawn from [<see cref="LowestPort"/>, <see cref="HighestPort"/>].</summary>
    public const int LowestPort = 20000;

    /// <summary>
    /// The highest port drawn: below Linux's default ephemeral range (32768–60999), so the agent's
    /// loopback listener never meets a port the app's own outgoing connections were given.
    /// </summary>
    public const int HighestPort = 32767;

    /// <summary>How often a new container (another name and port) is tried when the agent could not listen.</summary>
    private const int Attempts = 3;

    /// <summary>Where progress lines go ("starting agent in pod …"); null for none.</summary>
    public Action<string>? Progress { get; init; }

    /// <summary>
    /// Adds the agent to <paramref name="target"/>'s pod and waits until its container runs. The
    /// port is random in [<see cref="LowestPort"/>, <see cref="HighestPort"/>], avoiding the ports the
    /// pod declares and those of earlier doppel agents in it; when the agent exits at once because
    /// the port was taken anyway (the app listens on it undeclared), another container with
    /// another port is added (<see cref="Attempts"/> in all).
    /// </summary>
    public async Task<AgentWorkload> PlaceAsync(ResolvedTarget target, AgentConfig agent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(agent);
        var shape = await ShapeAsync(cancellationToken).ConfigureAwait(false);
        var pod = await ReadPodAsync(target.Namespace, target.Pod, cancellationToken).ConfigureAwait(false);
        var containerId = target.ContainerId ?? TargetContainerId(pod, target.Container)
            ?? throw new KubeException($"The container {target.Container} of pod {target.Namespace}/{target.Pod} has no container ID yet (it is not running); wait until it runs and try again.");

        for (var attempt = 1; ; attempt++)
        {
            var name = ContainerName(pod);
            var port = ChoosePort(pod, Random.Shared);
            var container = AgentContainer(name, target.Container, containerId, port, agent, target.HttpProbePorts);
            if (shape == ApiShape.EphemeralContainersObject)
            {
                // Before 1.22 the API forbids a securityContext on ephemeral containers ("cannot be
                // set for an Ephemeral Container"): the agent gets the runtime's default capabilities.
                container.SecurityContext = null;
            }

            Progress?.Invoke($"starting agent in pod {target.Namespace}/{target.Pod} (ephemeral container {name}, port {port})");
            await AddAsync(shape, target.Namespace, target.Pod, container, cancellationToken).ConfigureAwait(false);
            var outcome = await WaitRunningAsync(target.Namespace, target.Pod, container, TimeSpan.FromSeconds(agent.StartupTimeout), cancellationToken).ConfigureAwait(false);
            if (outcome.Pod is { } running)
            {
                return new AgentWorkload(AgentWorkloadKind.EphemeralContainer, target.Namespace, target.Pod, name, port)
                {
                    PodName = target.Pod,
                    Node = running.Spec?.NodeName ?? target.Node,
                };
            }

            if (attempt == Attempts)
            {
                throw new KubeException($"The agent could not listen in pod {target.Namespace}/{target.Pod} in {Attempts} attempts ({outcome.Failure}); the pod's processes may use the ports {LowestPort}–{HighestPort}.");
            }

            pod = await ReadPodAsync(target.Namespace, target.Pod, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<V1Pod> ReadPodAsync(string ns, string name, CancellationToken cancellationToken)
        => await KubeApi.CallAsync(connection, "get", "pods", ns, () => connection.Client.CoreV1.ReadNamespacedPodAsync(name, ns, cancellationToken: cancellationToken)).ConfigureAwait(false)
           ?? throw new KubeException($"The pod {ns}/{name} no longer exists; run doppel again to pick the target's current pod.");

    /// <summary>The container ID (without its runtime prefix) of <paramref name="container"/> from the pod status.</summary>
    private static string? TargetContainerId(V1Pod pod, string container)
    {
        var id = (pod.Status?.ContainerStatuses ?? []).Concat(pod.Status?.InitContainerStatuses ?? [])
            .FirstOrDefault(s => s.Name == container)?.ContainerID;
        if (string.IsNullOrEmpty(id))
        {
            return null;
        }

        var scheme = id.IndexOf("://", StringComparison.Ordinal);
        return scheme < 0 ? id : id[(scheme + 3)..];
    }
}
