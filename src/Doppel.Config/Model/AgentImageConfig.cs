namespace Doppel.Config;

/// <summary><c>agent.image</c>: "registry/name:tag" or <c>{ "registry": ..., "tag": ... }</c>.</summary>
public sealed record AgentImageConfig
{
    public const string DefaultRegistry = "doppel-agent";

    public string Registry { get; init; } = DefaultRegistry;

    public string Tag { get; init; } = DefaultTag;

    /// <summary>The tag of the agent built with this CLI: the CLI's own version.</summary>
    public static string DefaultTag => typeof(AgentImageConfig).Assembly.GetName().Version?.ToString(3) ?? "latest";
}
