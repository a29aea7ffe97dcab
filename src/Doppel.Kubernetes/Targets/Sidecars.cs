using k8s.Models;

namespace Doppel.Kubernetes.Targets;

/// <summary>
/// Containers a target's container is never chosen from by default: the proxies and init
/// containers service meshes and secret injectors add (mirrord's <c>SKIP_NAMES</c> in
/// mirrord-kube's api/container.rs, plus Kuma, Consul and App Mesh), and native sidecars (init
/// containers with <c>restartPolicy: Always</c>, Kubernetes ≥ 1.28). Such a container is still
/// a target when named with <c>/container/NAME</c>.
/// </summary>
public static class Sidecars
{
    /// <summary>Container names of known mesh and injector sidecars.</summary>
    public static IReadOnlySet<string> MeshNames { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "istio-proxy", "istio-init", "istio-validation",
        "linkerd-proxy", "linkerd-init", "linkerd-network-validator",
        "vault-agent", "vault-agent-init",
        "queue-proxy",
        "kuma-sidecar", "kuma-init",
        "consul-dataplane", "consul-connect-inject-init", "envoy-sidecar",
        "aws-appmesh-envoy",
    };

    /// <summary>True for a known mesh or injector sidecar's name.</summary>
    public static bool IsMesh(string containerName) => MeshNames.Contains(containerName);

    /// <summary>The pod's native sidecars: init containers that keep running (<c>restartPolicy: Always</c>).</summary>
    public static IEnumerable<V1Container> Native(V1PodSpec spec)
        => (spec?.InitContainers ?? []).Where(c => c.RestartPolicy == "Always");

    /// <summary>The containers a target may default to: the pod's app containers that are no known sidecar, in spec order.</summary>
    public static IReadOnlyList<string> AppContainers(V1PodSpec spec)
        => (spec?.Containers ?? []).Select(c => c.Name).Where(n => !IsMesh(n)).ToList();
}
