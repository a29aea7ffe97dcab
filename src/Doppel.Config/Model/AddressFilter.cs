using System.Net;
using System.Text.Json.Serialization;

namespace Doppel.Config;

/// <summary>One parsed <c>[proto://][name|ip|cidr][:port]</c> entry of an outgoing or DNS filter.</summary>
public sealed record AddressFilter
{
    public FilterProtocol Protocol { get; init; } = FilterProtocol.Any;

    /// <summary>A host name (may start with <c>*.</c>), or null when an address/network is given or the host is omitted.</summary>
    public string? Name { get; init; }

    [JsonIgnore]
    public IPNetwork? Network { get; init; }

    public int? Port { get; init; }

    public required string Text { get; init; }
}
