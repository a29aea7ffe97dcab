using System.ComponentModel;
using System.Text.Json.Nodes;

namespace Doppel.Config;

/// <summary><c>agent</c>: how the agent is placed and run (not used when attaching to a shared agent).</summary>
public sealed record AgentConfig
{
    [Description("Agent image: \"name:tag\", or { registry, tag }.")]
    public AgentImageConfig Image { get; init; } = new();

    public string ImagePullPolicy { get; init; } = "IfNotPresent";

    public IReadOnlyList<JsonObject> ImagePullSecrets { get; init; } = [];

    [Description("Namespace the agent runs in; defaults to the target's.")]
    public string? Namespace { get; init; }

    public string LogLevel { get; init; } = "info";

    public bool JsonLog { get; init; }

    [Description("Seconds the agent stays after its last session has gone.")]
    public int Ttl { get; init; } = 1;

    [Description("Run the agent as an ephemeral container in the target pod.")]
    public bool Ephemeral { get; init; }

    [Description("Seconds to wait for an answer from the agent.")]
    public int CommunicationTimeout { get; init; } = 30;

    [Description("Seconds to wait for the agent to start.")]
    public int StartupTimeout { get; init; } = 60;

    [Description("Run the agent privileged (needed on Bottlerocket).")]
    public bool Privileged { get; init; }

    [Description("Capabilities not given to the agent (of NET_ADMIN, SYS_PTRACE, SYS_ADMIN).")]
    public IReadOnlyList<string> DisabledCapabilities { get; init; } = [];

    public IReadOnlyList<JsonObject> Tolerations { get; init; } = [new JsonObject { ["operator"] = "Exists" }];

    public AgentResourcesConfig Resources { get; init; } = new();

    public JsonObject? SecurityContext { get; init; }

    public IReadOnlyDictionary<string, string> NodeSelector { get; init; } = new Dictionary<string, string>();

    public string? PriorityClass { get; init; }

    public string? ServiceAccount { get; init; }

    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    public IReadOnlyDictionary<string, string> Annotations { get; init; } = new Dictionary<string, string>();

    public bool DisableMeshSidecarInjection { get; init; } = true;

    public bool FlushConnections { get; init; } = true;

    [Description("Use nftables rather than iptables-legacy for redirects (default: what the pod uses).")]
    public bool? Nftables { get; init; }

    public bool CleanIptablesOnStart { get; init; }

    public AgentDnsConfig Dns { get; init; } = new();

    [Description("Seconds to wait for the first bytes of a connection to tell whether it is HTTP.")]
    public int HttpDetectionTimeout { get; init; } = 2;

    public bool CheckOutOfPods { get; init; } = true;

    /// <summary>Capabilities the agent gets unless disabled.</summary>
    public static IReadOnlyList<string> DefaultCapabilities { get; } = ["NET_ADMIN", "SYS_PTRACE", "SYS_ADMIN"];
}
