using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Doppel.Config;
using Doppel.Kubernetes.Targets;
using k8s;
using k8s.Models;

namespace Doppel.Kubernetes.Agents;

/// <summary>
/// The objects doppel creates to run an agent, from the <c>agent.*</c> keys (REFERENCE.md):
/// <list type="bullet">
/// <item>a batch/v1 Job (<see cref="Job"/>): one pod, <c>backoffLimit: 0</c>, <c>restartPolicy: Never</c>,
/// <c>ttlSecondsAfterFinished</c> = <c>agent.ttl</c>, required node affinity to the target pod's node
/// (through the scheduler, so taints and full nodes show as the scheduler's reasons), <c>hostPID</c>,
/// capabilities NET_ADMIN, SYS_ADMIN, SYS_PTRACE minus <c>agent.disabled_capabilities</c>, or
/// <c>privileged</c>; the agent runs <c>--target container/ID</c>;</item>
/// <item>a plain pod for targetless sessions (<see cref="TargetlessPod"/>): no hostPID, no added
/// capabilities, <c>--target targetless</c>.</item>
/// </list>
/// Both: <c>image</c>, <c>image_pull_policy</c>, <c>image_pull_secrets</c>, <c>tolerations</c>,
/// <c>node_selector</c>, <c>resources</c>, <c>priority_class</c>, <c>service_account</c> (none: no
/// token is mounted), <c>labels</c>, <c>annotations</c>, <c>security_context</c> (replaces the
/// computed one), <c>disable_mesh_sidecar_injection</c> (<see cref="MeshOptOut"/>) and the agent's
/// <c>--idle-exit</c> = <c>agent.ttl</c>, <c>--log-level</c> = <c>agent.log_level</c>.
/// </summary>
public static class AgentPodSpecs
{
    /// <summary>The agent's container name in every workload doppel creates.</summary>
    public const string ContainerName = "doppel-agent";

    /// <summary>The label every object doppel creates carries (value: doppel), for <c>kubectl get -l</c> and cleanup.</summary>
    public const string ManagedByLabel = "app.kubernetes.io/managed-by";

    /// <summary>The label naming the object as a doppel agent (value: doppel-agent).</summary>
    public const string NameLabel = "app.kubernetes.io/name";

    /// <summary>
    /// The annotations (and the Istio label) that keep service meshes from injecting a sidecar
    /// into the agent's pod: Istio (<c>sidecar.istio.io/inject</c>), Linkerd (<c>linkerd.io/inject</c>),
    /// Kuma (<c>kuma.io/sidecar-injection</c>), Consul (<c>consul.hashicorp.com/connect-inject</c>)
    /// and Open Service Mesh (<c>openservicemesh.io/sidecar-injection</c>).
    /// </summary>
    public static IReadOnlyDictionary<string, string> MeshOptOut { get; } = new Dictionary<string, string>
    {
        ["sidecar.istio.io/inject"] = "false",
        ["linkerd.io/inject"] = "disabled",
        ["kuma.io/sidecar-injection"] = "disabled",
        ["consul.hashicorp.com/connect-inject"] = "false",
        ["openservicemesh.io/sidecar-injection"] = "disabled",
    };

    /// <summary>The image reference <c>agent.image</c> names (<c>registry:tag</c>).</summary>
    public static string Image(AgentConfig agent)
    {
        ArgumentNullException.ThrowIfNull(agent);
        return $"{agent.Image.Registry}:{agent.Image.Tag}";
    }

    /// <summary>A new object name: <c>doppel-agent-</c> and 10 random lowercase letters and digits.</summary>
    public static string NewName()
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
        return "doppel-agent-" + string.Create(10, 0, (span, _) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = alphabet[System.Security.Cryptography.RandomNumberGenerator.GetInt32(alphabet.Length)];
            }
        });
    }

    /// <summary>
    /// The name of the one Job agent of a target pod (<see cref="AgentSharing"/>): <c>doppel-agent-</c>
    /// and 16 hex digits of SHA-256 over the pod's UID and the protocol version. Every session on
    /// that pod computes the same name, so of two that start at once the second create gets 409
    /// AlreadyExists and joins the first's agent.
    /// </summary>
    public static string SharedName(string podUid, uint protocol)
    {
        ArgumentException.ThrowIfNullOrEmpty(podUid);
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{podUid}/{protocol.ToString(CultureInfo.InvariantCulture)}"));
        return "doppel-agent-" + Convert.ToHexStringLower(hash, 0, 8);
    }

    /// <summary>
    /// A new agent token: 32 random bytes, base64url without padding (43 characters, valid as
    /// gRPC metadata and as an environment variable).
    /// </summary>
    public static string NewToken() => System.Buffers.Text.Base64Url.EncodeToString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    /// <summary>
    /// The agent's token Secret (<see cref="AgentSharing"/>): same name as its Job or pod, the same
    /// labels, <c>data.token</c> = <paramref name="token"/> (UTF-8). Its ownerReference to the Job
    /// is added once the Job exists (<c>AgentPlacement</c>), so it goes with the Job.
    /// </summary>
    public static V1Secret Secret(AgentConfig agent, string @namespace, string name, string token, IReadOnlyDictionary<string, string>? sharingLabels = null)
    {
        ArgumentNullException.ThrowIfNull(agent);
        var labels = Labels(agent);
        foreach (var (key, value) in sharingLabels ?? new Dictionary<string, string>())
        {
            labels[key] = value;
        }

        return new V1Secret
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = @namespace, Labels = labels },
            Type = "Opaque",
            Data = new Dictionary<string, byte[]> { [AgentSharing.TokenSecretKey] = System.Text.Encoding.UTF8.GetBytes(token) },
        };
    }

    /// <summary>
    /// The labels that let sessions find a Job agent for <paramref name="target"/>
    /// (<see cref="AgentSharing.TargetPodUidLabel"/>, <see cref="AgentSharing.ProtocolLabel"/>).
    /// </summary>
    public static Dictionary<string, string> SharingLabels(ResolvedTarget target, uint protocol)
    {
        ArgumentNullException.ThrowIfNull(target);
        var labels = new Dictionary<string, string> { [AgentSharing.ProtocolLabel] = protocol.ToString(CultureInfo.InvariantCulture) };
        if (target.Uid is { Length: > 0 } uid)
        {
            labels[AgentSharing.TargetPodUidLabel] = uid;
        }

        return labels;
    }

    /// <summary>
    /// The port an agent pod's agent listens on, from its <c>--listen 127.0.0.1:PORT</c> argument;
    /// null when the pod has no agent container or no such argument. Sessions joining an agent
    /// another placed, and <c>doppel status</c>, find the port this way.
    /// </summary>
    public static int? ListenPort(V1PodSpec? spec)
    {
        var args = spec?.Containers?.Concat(spec.EphemeralContainers?.Select(e => new V1Container { Name = e.Name, Args = e.Args }) ?? [])
            .FirstOrDefault(c => c.Name == ContainerName)?.Args;
        if (args is null)
        {
            return null;
        }

        for (var i = 0; i + 1 < args.Count; i++)
        {
            if (args[i] == "--listen" && args[i + 1].LastIndexOf(':') is var colon and > 0
                && int.TryParse(args[i + 1].AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port))
            {
                return port;
            }
        }

        return null;
    }

    /// <summary>
    /// The Job for a session on <paramref name="target"/>: its pod runs on the target's node and the
    /// agent serves the target container (by its ID) on 127.0.0.1:<paramref name="port"/> of its own pod.
    /// With <paramref name="tokenSecret"/>, the Job and its pod carry the sharing labels and
    /// annotations of <see cref="AgentSharing"/> and the agent reads DOPPEL_AGENT_TOKEN from that Secret.
    /// Throws <see cref="KubeException"/> when the target has no container ID yet or a key cannot be used.
    /// </summary>
    public static V1Job Job(AgentConfig agent, ResolvedTarget target, string @namespace, string name, int port, string? tokenSecret = null)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(target);
        if (string.IsNullOrEmpty(target.ContainerId))
        {
            throw new KubeException($"The container {target.Container} of pod {target.Pod} has no container ID in its status yet; try again once it runs.");
        }

        var pod = PodSpec(agent, ["--target", "container/" + target.ContainerId], port, SecurityContext(agent, elevated: true), tokenSecret, target.HttpProbePorts);
        pod.HostPID = true;
        pod.Affinity = new V1Affinity
        {
            NodeAffinity = new V1NodeAffinity
            {
                RequiredDuringSchedulingIgnoredDuringExecution = new V1NodeSelector
                {
                    NodeSelectorTerms =
                    [
                        new V1NodeSelectorTerm
                        {
                            MatchFields = [new V1NodeSelectorRequirement { Key = "metadata.name", OperatorProperty = "In", Values = [target.Node] }],
                        },
                    ],
                },
            },
        };

        var metadata = Metadata(agent, @namespace, name);
        var podMetadata = PodMetadata(agent);
        if (tokenSecret is not null)
        {
            foreach (var meta in new[] { metadata, podMetadata })
            {
                foreach (var (key, value) in SharingLabels(target, Doppel.Protocol.ProtocolVersion.Current))
                {
                    meta.Labels[key] = value;
                }

                meta.Annotations ??= new Dictionary<string, string>();
                meta.Annotations[AgentSharing.TargetAnnotation] = $"{target.Namespace}/{target.Pod}/{target.Container}";
                if (target.Path is { Length: > 0 } path)
                {
                    meta.Annotations[AgentSharing.TargetPathAnnotation] = path;
                }
            }
        }

        return new V1Job
        {
            ApiVersion = "batch/v1",
            Kind = "Job",
            Metadata = metadata,
            Spec = new V1JobSpec
            {
                BackoffLimit = 0,
                Completions = 1,
                Parallelism = 1,
                TtlSecondsAfterFinished = Math.Max(agent.Ttl, 0),
                Template = new V1PodTemplateSpec { Metadata = podMetadata, Spec = pod },
            },
        };
    }

    /// <summary>
    /// The plain pod of a targetless session: the agent serves the pod's own network on
    /// 127.0.0.1:<paramref name="port"/>; with <paramref name="tokenSecret"/> it reads DOPPEL_AGENT_TOKEN from that Secret.
    /// </summary>
    public static V1Pod TargetlessPod(AgentConfig agent, string @namespace, string name, int port, string? tokenSecret = null)
    {
        ArgumentNullException.ThrowIfNull(agent);
        var metadata = PodMetadata(agent);
        metadata.Name = name;
        metadata.NamespaceProperty = @namespace;
        foreach (var (key, value) in Metadata(agent, @namespace, name).Annotations ?? new Dictionary<string, string>())
        {
            metadata.Annotations ??= new Dictionary<string, string>();
            metadata.Annotations.TryAdd(key, value);
        }

        return new V1Pod
        {
            ApiVersion = "v1",
            Kind = "Pod",
            Metadata = metadata,
            Spec = PodSpec(agent, ["--target", "targetless"], port, SecurityContext(agent, elevated: false), tokenSecret),
        };
    }

    /// <summary>
    /// The agent's command line: target, <c>--listen 127.0.0.1:PORT</c>, <c>--idle-exit TTL</c>,
    /// <c>--first-connection-timeout</c> (<c>agent.startup_timeout</c> + 60 s: an agent whose
    /// launcher died before connecting ends, so its Job or ephemeral container does not run on),
    /// <c>--log-level</c>, and <c>--http-probe-ports P,Q</c> when the target pod has HTTP-probed ports
    /// (<see cref="KubeletProbes"/>: the agent leaves the kubelet's probe requests on them to the app
    /// during a whole-port steal).
    /// </summary>
    internal static IList<string> Arguments(AgentConfig agent, IReadOnlyList<string> target, int port, IReadOnlyList<int>? httpProbePorts = null)
    {
        List<string> args =
        [
            .. target,
            "--listen", "127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture),
            "--idle-exit", Math.Max(agent.Ttl, 1).ToString(CultureInfo.InvariantCulture),
            "--first-connection-timeout", (Math.Max(agent.StartupTimeout, 1) + 60).ToString(CultureInfo.InvariantCulture),
            "--log-level", Doppel.Config.Logging.LogLevels.AgentWord(agent.LogLevel),
        ];
        if (httpProbePorts is { Count: > 0 })
        {
            args.AddRange(["--http-probe-ports", string.Join(',', httpProbePorts.Select(p => p.ToString(CultureInfo.InvariantCulture)))]);
        }

        return args;
    }

    private static V1PodSpec PodSpec(AgentConfig agent, IReadOnlyList<string> target, int port, V1SecurityContext? security, string? tokenSecret, IReadOnlyList<int>? httpProbePorts = null)
    {
        var container = new V1Container
        {
            Name = ContainerName,
            Image = Image(agent),
            ImagePullPolicy = agent.ImagePullPolicy,
            Args = Arguments(agent, target, port, httpProbePorts),
            SecurityContext = security,
            Resources = Resources(agent.Resources),
            TerminationMessagePolicy = "FallbackToLogsOnError",
            Env = tokenSecret is null ? null :
            [
                new V1EnvVar
                {
                    Name = AgentSharing.TokenVariable,
                    ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = tokenSecret, Key = AgentSharing.TokenSecretKey } },
                },
            ],
        };

        var serviceAccount = string.IsNullOrEmpty(agent.ServiceAccount) ? null : agent.ServiceAccount;
        return new V1PodSpec
        {
            Containers = [container],
            RestartPolicy = "Never",

            // On SIGTERM the agent removes its redirects and exits within milliseconds; the default 30 s
            // would keep a deleted agent pod Terminating that long after every session.
            TerminationGracePeriodSeconds = 5,
            ServiceAccountName = serviceAccount,

            // The agent never calls the API server: without a service account of its own, no token.
            AutomountServiceAccountToken = serviceAccount is not null,
            Tolerations = agent.Tolerations.Count == 0 ? null : agent.Tolerations.Select(t => FromJson<V1Toleration>(t, "agent.tolerations")).ToList(),
            NodeSelector = agent.NodeSelector.Count == 0 ? null : new Dictionary<string, string>(agent.NodeSelector),
            PriorityClassName = string.IsNullOrEmpty(agent.PriorityClass) ? null : agent.PriorityClass,
            ImagePullSecrets = agent.ImagePullSecrets.Count == 0 ? null : agent.ImagePullSecrets.Select(s => FromJson<V1LocalObjectReference>(s, "agent.image_pull_secrets")).ToList(),
        };
    }

    private static V1SecurityContext? SecurityContext(AgentConfig agent, bool elevated)
    {
        if (agent.SecurityContext is not null)
        {
            return FromJson<V1SecurityContext>(agent.SecurityContext, "agent.security_context");
        }

        if (!elevated)
        {
            return null;
        }

        if (agent.Privileged)
        {
            return new V1SecurityContext { Privileged = true, RunAsUser = 0 };
        }

        var disabled = new HashSet<string>(agent.DisabledCapabilities.Select(c => c.Trim().ToUpperInvariant().Replace("CAP_", string.Empty, StringComparison.Ordinal)), StringComparer.Ordinal);
        return new V1SecurityContext
        {
            RunAsUser = 0,
            Capabilities = new V1Capabilities { Add = AgentConfig.DefaultCapabilities.Where(c => !disabled.Contains(c)).ToList() },
        };
    }

    private static V1ObjectMeta Metadata(AgentConfig agent, string @namespace, string name)
    {
        var metadata = new V1ObjectMeta { Name = name, NamespaceProperty = @namespace, Labels = Labels(agent) };
        if (agent.Annotations.Count > 0)
        {
            metadata.Annotations = new Dictionary<string, string>(agent.Annotations);
        }

        return metadata;
    }

    private static V1ObjectMeta PodMetadata(AgentConfig agent)
    {
        var labels = Labels(agent);
        var annotations = new Dictionary<string, string>(agent.Annotations);
        if (agent.DisableMeshSidecarInjection)
        {
            foreach (var (key, value) in MeshOptOut)
            {
                annotations.TryAdd(key, value);
            }

            // Istio's newer injector reads the label as well as the annotation.
            labels.TryAdd("sidecar.istio.io/inject", "false");
        }

        return new V1ObjectMeta { Labels = labels, Annotations = annotations.Count == 0 ? null : annotations };
    }

    private static Dictionary<string, string> Labels(AgentConfig agent)
    {
        var labels = new Dictionary<string, string>(agent.Labels);
        labels[ManagedByLabel] = "doppel";
        labels[NameLabel] = ContainerName;
        return labels;
    }

    private static V1ResourceRequirements? Resources(AgentResourcesConfig resources)
    {
        static Dictionary<string, ResourceQuantity>? Amounts(ResourceAmounts? amounts)
        {
            var result = new Dictionary<string, ResourceQuantity>();
            if (amounts?.Cpu is { Length: > 0 } cpu)
            {
                result["cpu"] = new ResourceQuantity(cpu);
            }

            if (amounts?.Memory is { Length: > 0 } memory)
            {
                result["memory"] = new ResourceQuantity(memory);
            }

            return result.Count == 0 ? null : result;
        }

        var requests = Amounts(resources.Requests);
        var limits = Amounts(resources.Limits);
        return requests is null && limits is null ? null : new V1ResourceRequirements { Requests = requests, Limits = limits };
    }

    private static T FromJson<T>(JsonObject value, string key)
    {
        try
        {
            return KubernetesJson.Deserialize<T>(value.ToJsonString());
        }
        catch (JsonException e)
        {
            throw new KubeException($"{key} has an entry Kubernetes cannot read ({value.ToJsonString()}): {e.Message}", e);
        }
    }
}
