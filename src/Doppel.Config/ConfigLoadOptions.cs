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
}
