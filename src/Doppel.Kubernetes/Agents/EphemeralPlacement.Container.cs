using System.Globalization;
using Doppel.Config;
using k8s;
using k8s.Models;

namespace Doppel.Kubernetes.Agents;

/// <summary>The agent's ephemeral container: its name, its port and its spec.</summary>
public sealed partial class EphemeralPlacement
{
    private const string ListenOption = "--listen";
    private const string Loopback = "127.0.0.1:";

    /// <summary>
    /// The agent's container: image and pull policy from <c>agent.*</c>; <c>targetContainerName</c>
    /// the target container, so the agent shares its PID namespace and finds its process by the
    /// container ID in <c>/proc/*/cgroup</c> (cgroup v1 paths end with the ID; under cgroup v2 with a
    /// cgroup namespace the target's path is relative, <c>/../ID</c>, and still ends with it);
    /// <c>doppel-agent --target container/ID --listen 127.0.0.1:PORT --idle-exit TTL --log-level L</c>
    /// (<see cref="AgentPodSpecs.Arguments"/>, as a Job's agent, with <c>--http-probe-ports</c> from
    /// <paramref name="httpProbePorts"/> when there are any);
    /// capabilities NET_ADMIN, SYS_ADMIN and SYS_PTRACE less <c>agent.disabled_capabilities</c>
    /// (an ephemeral container is never privileged); <c>agent.security_context</c>'s other fields;
    /// the log tail as its termination message when it fails, so a failure is reported without
    /// <c>pods/log</c> access. Ephemeral containers may have no ports, probes or resources.
    /// </summary>
    public static V1EphemeralContainer AgentContainer(string name, string targetContainer, string containerId, int port, AgentConfig agent, IReadOnlyList<int>? httpProbePorts = null)
    {
        ArgumentNullException.ThrowIfNull(agent);
        return new V1EphemeralContainer
        {
            Name = name,
            Image = AgentPodSpecs.Image(agent),
            ImagePullPolicy = agent.ImagePullPolicy,
            TargetContainerName = targetContainer,
            Args = AgentPodSpecs.Arguments(agent, ["--target", "container/" + containerId], port, httpProbePorts),
            SecurityContext = SecurityContext(agent),
            TerminationMessagePolicy = "FallbackToLogsOnError",
        };
    }

    /// <summary>
    /// A port in [<see cref="LowestPort"/>, <see cref="HighestPort"/>] that no container of the pod
    /// declares and no earlier doppel agent in it listens on.
    /// </summary>
    public static int ChoosePort(V1Pod pod, Random random)
    {
        ArgumentNullException.ThrowIfNull(pod);
        ArgumentNullException.ThrowIfNull(random);
        var taken = (pod.Spec?.Containers ?? []).Concat(pod.Spec?.InitContainers ?? [])
            .SelectMany(c => c.Ports ?? [])
            .Select(p => p.ContainerPort)
            .Concat((pod.Spec?.EphemeralContainers ?? []).Select(c => ListenPort(c.Args)).OfType<int>())
            .ToHashSet();
        while (true)
        {
            var port = random.Next(LowestPort, HighestPort + 1);
            if (!taken.Contains(port))
            {
                return port;
            }
        }
    }

    /// <summary><see cref="ContainerPrefix"/> and 6 random hex digits, a name no container of the pod has.</summary>
    public static string ContainerName(V1Pod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var names = (pod.Spec?.Containers ?? []).Select(c => c.Name)
            .Concat((pod.Spec?.InitContainers ?? []).Select(c => c.Name))
            .Concat((pod.Spec?.EphemeralContainers ?? []).Select(c => c.Name))
            .ToHashSet(StringComparer.Ordinal);
        while (true)
        {
            var name = ContainerPrefix + Guid.NewGuid().ToString("N")[..6];
            if (!names.Contains(name))
            {
                return name;
            }
        }
    }

    /// <summary>The port of <c>--listen 127.0.0.1:PORT</c> in an agent's arguments; null for another container.</summary>
    private static int? ListenPort(IList<string>? args)
    {
        var list = args ?? [];
        var at = list.IndexOf(ListenOption);
        return at >= 0 && at + 1 < list.Count && list[at + 1].StartsWith(Loopback, StringComparison.Ordinal)
               && int.TryParse(list[at + 1].AsSpan(Loopback.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            ? port
            : null;
    }

    private static V1SecurityContext SecurityContext(AgentConfig agent)
    {
        V1SecurityContext context;
        try
        {
            context = agent.SecurityContext is { } custom
                ? KubernetesJson.Deserialize<V1SecurityContext>(custom.ToJsonString()) ?? new V1SecurityContext()
                : new V1SecurityContext();
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new KubeException($"agent.security_context is not a Kubernetes SecurityContext: {e.Message.Split('\n')[0].TrimEnd('.')}.", e);
        }

        context.Privileged = null;
        var disabled = agent.DisabledCapabilities.ToHashSet(StringComparer.Ordinal);
        var add = AgentConfig.DefaultCapabilities.Where(c => !disabled.Contains(c))
            .Concat(context.Capabilities?.Add ?? [])
            .Distinct(StringComparer.Ordinal)
            .ToList();
        context.Capabilities = new V1Capabilities { Add = add, Drop = context.Capabilities?.Drop };
        return context;
    }
}
