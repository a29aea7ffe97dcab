using System.ComponentModel;

namespace Doppel.Config;

/// <summary>
/// One entry of <c>all_of</c>/<c>any_of</c>: exactly one of header, path or method, or a body rule
/// written flat as mirrord does (<c>{"body": "json", "query": ..., "matches": ...}</c>, then
/// <see cref="Body"/>, <see cref="Query"/> and <see cref="Matches"/> are set).
/// </summary>
public sealed record HttpFilterRule
{
    public string? Header { get; init; }

    public string? Path { get; init; }

    public string? Method { get; init; }

    [Description("A body rule: the body format, \"json\" (with query and matches).")]
    public string? Body { get; init; }

    [Description("A body rule's JSONPath (RFC 9535) selecting the values to test.")]
    public string? Query { get; init; }

    [Description("A body rule's regex tested against each selected value (case-sensitive, as in mirrord).")]
    public string? Matches { get; init; }

    /// <summary>The body rule as a <see cref="HttpBodyFilterConfig"/>; null for header, path and method rules.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public HttpBodyFilterConfig? BodyFilter => Body is null ? null : new HttpBodyFilterConfig { Body = Body, Query = Query ?? "$", Matches = Matches ?? string.Empty };
}
