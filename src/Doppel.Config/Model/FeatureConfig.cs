using System.ComponentModel;

namespace Doppel.Config;

public sealed record FeatureConfig
{
    public EnvConfig Env { get; init; } = new();

    public FsConfig Fs { get; init; } = new();

    public NetworkConfig Network { get; init; } = new();

    [Description("The process sees the pod's hostname.")]
    public bool Hostname { get; init; } = true;
}
