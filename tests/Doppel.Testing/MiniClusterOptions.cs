namespace Doppel.Testing;

public sealed class MiniClusterOptions
{
    public List<PodSpec> Pods { get; } = [];

    /// <summary>
    /// What every name of this instance starts with (netns, /etc/netns dirs, temp dir):
    /// 1–9 lowercase letters or digits. Default: "dpl" and 6 random characters.
    /// </summary>
    public string? Prefix { get; init; }

    /// <summary>How long a server may take to listen on its port.</summary>
    public TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Progress lines (e.g. an xunit ITestOutputHelper's WriteLine).</summary>
    public Action<string>? Log { get; init; }
}
