using System.Globalization;
using k8s.Models;

namespace Doppel.Kubernetes.Targets;

/// <summary>
/// The container ports the kubelet sends HTTP probes to: each <c>httpGet</c> liveness, readiness
/// and startup probe of the pod's containers (app containers and native sidecars) whose
/// <c>scheme</c> is HTTP (the default) and that sets no <c>host</c> (so it goes to the pod's IP,
/// through the agent's redirect). A named port is looked up in the probe's own container's
/// <c>ports</c>, as the kubelet does (pkg/kubelet/prober: <c>findPortByName</c>); a name no port
/// has, or a number outside 1–65535, names nothing. HTTPS probes are left out: the agent cannot
/// read their User-Agent. The agent passes requests with <c>User-Agent: kube-probe/…</c> on these
/// ports to the pod's app during a whole-port steal (<c>--http-probe-ports</c>).
/// <para>
/// All containers count, not only the target's: the agent steals in the pod's one network
/// namespace, so a steal of a port another container's probe checks would take that probe too,
/// and a shared agent (one per pod) serves sessions on any of the pod's containers.
/// </para>
/// </summary>
public static class KubeletProbes
{
    /// <summary>The probed ports of all the pod's containers and native sidecars, ascending, without repeats.</summary>
    public static IReadOnlyList<int> HttpPorts(V1PodSpec? spec)
        => spec is null ? [] : [.. (spec.Containers ?? []).Concat(Sidecars.Native(spec)).SelectMany(HttpPortsOf).Distinct().Order()];

    /// <summary>The probed ports of one container, in probe order (liveness, readiness, startup); repeats possible.</summary>
    public static IEnumerable<int> HttpPortsOf(V1Container container)
    {
        ArgumentNullException.ThrowIfNull(container);
        foreach (var probe in new[] { container.LivenessProbe, container.ReadinessProbe, container.StartupProbe })
        {
            if (probe?.HttpGet is { } get
                && string.IsNullOrEmpty(get.Host)
                && (string.IsNullOrEmpty(get.Scheme) || string.Equals(get.Scheme, "HTTP", StringComparison.OrdinalIgnoreCase))
                && Port(container, get.Port.Value) is { } port)
            {
                yield return port;
            }
        }
    }

    /// <summary>A probe's port: a number in 1–65535, or the name of one of the container's ports; null otherwise.</summary>
    private static int? Port(V1Container container, string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            return number is >= 1 and <= 65535 ? number : null;
        }

        var named = (container.Ports ?? []).FirstOrDefault(p => string.Equals(p.Name, value, StringComparison.Ordinal));
        return named?.ContainerPort is >= 1 and <= 65535 ? named.ContainerPort : null;
    }
}
