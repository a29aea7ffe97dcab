namespace Doppel.Config;

/// <summary>What the loader needs from the outside world; tests give their own environment.</summary>
public sealed record ConfigLoadOptions
{
    /// <summary>The file given with <c>-f</c>/<c>--config-file</c>; null to look at the environment and the default path.</summary>
    public string? ConfigFile { get; init; }

    /// <summary>Flag overrides, in the order given; later ones win.</summary>
    public IReadOnlyList<ConfigOverride> FlagOverrides { get; init; } = [];

    public Func<string, string?> Environment { get; init; } = System.Environment.GetEnvironmentVariable;

    public string WorkingDirectory { get; init; } = Directory.GetCurrentDirectory();

    /// <summary>Produces the branch for the <c>git_branch</c> template variable; null detects it with git.</summary>
    public Func<string?>? GitBranch { get; init; }

    /// <summary>
    /// True when a missing target is not final: <c>verify-config --ide</c> checks a file before the
    /// IDE lets the user pick a target, so "steal needs a target" is not reported then. mirrord's
    /// <c>ConfigContext::empty_target_final</c> is the opposite of this.
    /// </summary>
    public bool TargetChosenLater { get; init; }

    /// <summary>
    /// Checks the JSONPath <c>query</c> of a body filter: returns what is wrong (a sentence fragment
    /// without a final period) or null when the query is fine. The configuration project depends on
    /// nothing, so the CLI passes the protocol's parser (<c>Doppel.Protocol.Incoming.JsonPathQuery</c>),
    /// the one the agent evaluates with; null checks only that the query starts with <c>$</c>.
    /// </summary>
    public Func<string, string?>? JsonPathCheck { get; init; }
}
