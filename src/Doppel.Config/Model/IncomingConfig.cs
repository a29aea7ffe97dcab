using System.ComponentModel;

namespace Doppel.Config;

/// <summary><c>feature.network.incoming</c>: a boolean, a mode string, or an object.</summary>
public sealed record IncomingConfig
{
    public IncomingMode Mode { get; init; } = IncomingMode.Mirror;

    [Description("[[local, remote]] pairs: the local port the app listens on → the pod port whose traffic it gets.")]
    public IReadOnlyList<PortPair> PortMapping { get; init; } = [];

    [Description("[[remote, local]] pairs: the port the app's listen is moved to locally.")]
    public IReadOnlyList<PortPair> ListenPorts { get; init; } = [];

    [Description("Ports never mirrored or stolen (exclusive with ports).")]
    public IReadOnlyList<int> IgnorePorts { get; init; } = [];

    [Description("Only these ports are mirrored or stolen (exclusive with ignore_ports).")]
    public IReadOnlyList<int>? Ports { get; init; }

    [Description("Leave listeners on localhost alone.")]
    public bool IgnoreLocalhost { get; init; }

    [Description("When another session already steals the port without a filter: abort, continue, or override.")]
    public ConcurrentStealMode OnConcurrentSteal { get; init; } = ConcurrentStealMode.Abort;

    public HttpFilterConfig HttpFilter { get; init; } = new();
}
