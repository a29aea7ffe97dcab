namespace Doppel.Config;

/// <summary><c>agent.image</c>: "registry/name:tag" or <c>{ "registry": ..., "tag": ... }</c>.</summary>
public sealed record AgentImageConfig
{
    /// <summary>
    /// The default image name: what scripts/agent-image.sh builds offline and names
    /// (<c>doppel.local/doppel-agent:VERSION</c>); a cluster needs it imported into its nodes'
    /// runtime (<c>ctr -n k8s.io images import</c>) or pushed to a registry under this name.
    /// </summary>
    public const string DefaultRegistry = "doppel.local/doppel-agent";

    public string Registry { get; init; } = DefaultRegistry;

    public string Tag { get; init; } = DefaultTag;

    /// <summary>The tag of the agent built with this CLI: the CLI's own version.</summary>
    public static string DefaultTag => typeof(AgentImageConfig).Assembly.GetName().Version?.ToString(3) ?? "latest";
}
