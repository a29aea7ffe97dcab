using System.ComponentModel;

namespace Doppel.Config;

/// <summary><c>feature.env</c>: <c>true</c>/<c>false</c> or an object.</summary>
public sealed record EnvConfig
{
    [Description("Import the target's environment (false is what \"env\": false means).")]
    public bool Enabled { get; init; } = true;

    [Description("Only these variables are imported (';'-separated or a list; * and ? wildcards).")]
    public IReadOnlyList<string>? Include { get; init; }

    [Description("These variables are not imported (';'-separated or a list; * and ? wildcards).")]
    public IReadOnlyList<string>? Exclude { get; init; }

    [Description("Variables set to these values, whatever the target has.")]
    public IReadOnlyDictionary<string, string> Override { get; init; } = new Dictionary<string, string>();

    [Description("Regex on a variable's value → replacement value.")]
    public IReadOnlyDictionary<string, string> Mapping { get; init; } = new Dictionary<string, string>();

    [Description("Variables removed from the process's environment.")]
    public IReadOnlyList<string> Unset { get; init; } = [];

    [Description("A .env file whose variables are set too.")]
    public string? EnvFile { get; init; }

    [Description("Read the environment from the target's process rather than the pod spec.")]
    public bool? LoadFromProcess { get; init; }
}
