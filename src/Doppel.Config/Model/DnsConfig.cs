using System.ComponentModel;

namespace Doppel.Config;

/// <summary><c>feature.network.dns</c>: a boolean or an object.</summary>
public sealed record DnsConfig
{
    [Description("Names are resolved by the pod's resolver.")]
    public bool Enabled { get; init; } = true;

    [Description("Which names are resolved remotely (remote) or locally (local); entries like outgoing filters.")]
    public OutgoingFilterConfig? Filter { get; init; }
}
