using System.ComponentModel;

namespace Doppel.Config;

/// <summary>
/// <c>feature.network.incoming.http_filter</c>: which HTTP requests this session takes. At most
/// one of the filter kinds may be set; all regexes are case-insensitive except a body filter's
/// <c>matches</c> (case-sensitive, as in mirrord).
/// </summary>
public sealed record HttpFilterConfig
{
    [Description("Regex matched against each request header as \"Name: value\".")]
    public string? HeaderFilter { get; init; }

    [Description("Regex matched against the request path, and the path with its query.")]
    public string? PathFilter { get; init; }

    [Description("Regex that must match the whole request method (\"post\" matches POST).")]
    public string? MethodFilter { get; init; }

    [Description("A JSON body value matches: {\"body\": \"json\", \"query\": JSONPATH, \"matches\": REGEX}.")]
    public HttpBodyFilterConfig? BodyFilter { get; init; }

    [Description("Every one of these must match (non-empty).")]
    public IReadOnlyList<HttpFilterRule>? AllOf { get; init; }

    [Description("At least one of these must match (non-empty).")]
    public IReadOnlyList<HttpFilterRule>? AnyOf { get; init; }

    [Description("Filter only these ports; other stolen ports are stolen whole.")]
    public IReadOnlyList<int>? Ports { get; init; }

    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsSet => HeaderFilter is not null || PathFilter is not null || MethodFilter is not null || BodyFilter is not null || AllOf is not null || AnyOf is not null;
}
