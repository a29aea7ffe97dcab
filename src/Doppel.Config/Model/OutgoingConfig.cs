using System.ComponentModel;

namespace Doppel.Config;

/// <summary><c>feature.network.outgoing</c>: a boolean or an object.</summary>
public sealed record OutgoingConfig
{
    [Description("Outgoing TCP leaves from the pod.")]
    public bool Tcp { get; init; } = true;

    [Description("Outgoing UDP leaves from the pod.")]
    public bool Udp { get; init; } = true;

    [Description("Connections to localhost stay local.")]
    public bool IgnoreLocalhost { get; init; }

    public OutgoingFilterConfig? Filter { get; init; }

    [Description("Unix stream socket paths (regexes) connected in the pod.")]
    public IReadOnlyList<string> UnixStreams { get; init; } = [];
}
