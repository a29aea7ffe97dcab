using System.ComponentModel;

namespace Doppel.Config;

/// <summary>
/// <c>feature.network.incoming.http_filter.body_filter</c>, and a body rule of <c>all_of</c>/<c>any_of</c>:
/// mirrord's JSON body filter, written <c>{"body": "json", "query": "$.user.id", "matches": "^42$"}</c>
/// (mirrord-config <c>BodyFilter</c>, <c>#[serde(tag = "body")]</c>). The request body is read as
/// JSON, <see cref="Query"/> selects nodes, and the filter matches when one of them, stringified (a
/// string as its text, anything else as compact JSON), matches <see cref="Matches"/>.
/// </summary>
public sealed record HttpBodyFilterConfig
{
    [Description("The body format; only \"json\" exists (as in mirrord).")]
    public string Body { get; init; } = "json";

    [Description("JSONPath (RFC 9535) selecting the values to test; filter selectors [?...] are not supported.")]
    public string Query { get; init; } = "$";

    [Description("Regex tested against each selected value; case-sensitive as in mirrord (write (?i) to ignore case).")]
    public string Matches { get; init; } = string.Empty;
}
