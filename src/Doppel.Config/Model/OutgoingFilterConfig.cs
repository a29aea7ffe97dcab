using System.ComponentModel;

namespace Doppel.Config;

/// <summary>
/// Either <c>remote</c> (only these go through the pod) or <c>local</c> (these stay local), never
/// both. Entries are <c>[proto://][name|ip|cidr][:port]</c>.
/// </summary>
public sealed record OutgoingFilterConfig
{
    [Description("Only these destinations go through the pod; the rest stay local.")]
    public IReadOnlyList<string>? Remote { get; init; }

    [Description("These destinations stay local; the rest go through the pod.")]
    public IReadOnlyList<string>? Local { get; init; }

    /// <summary>The entries of whichever list is set, parsed.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public IReadOnlyList<AddressFilter> Parsed { get; init; } = [];
}
