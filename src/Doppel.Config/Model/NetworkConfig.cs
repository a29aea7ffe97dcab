using System.ComponentModel;

namespace Doppel.Config;

public sealed record NetworkConfig
{
    public IncomingConfig Incoming { get; init; } = new();

    public OutgoingConfig Outgoing { get; init; } = new();

    public DnsConfig Dns { get; init; } = new();

    [Description("Intercept IPv6 traffic too.")]
    public bool Ipv6 { get; init; } = true;
}
