using Doppel.Config;
using Doppel.Protocol.V1;

namespace Doppel.Session.Incoming;

/// <summary>
/// <c>feature.network.incoming.http_filter</c> → the <see cref="HttpFilter"/> a subscription
/// carries to the agent. The configuration was checked when it was loaded (one kind, non-empty
/// lists and regexes, valid regexes and JSONPath queries), so conversion cannot fail; the agent
/// compiles the filter again and refuses anything malformed.
/// </summary>
/// <remarks>
/// Shapes: <c>header_filter</c> → <c>header</c>, <c>path_filter</c> → <c>path</c>,
/// <c>method_filter</c> → <c>method</c>, <c>body_filter {"body": "json", query, matches}</c> →
/// <c>json_body {query, matches}</c>, <c>all_of</c>/<c>any_of</c> → a list of the same in the
/// written order (a rule <c>{"header"}</c>, <c>{"path"}</c>, <c>{"method"}</c> or a flat body rule).
/// </remarks>
internal static class HttpFilterProto
{
    /// <summary>The filter to send, or null when <paramref name="config"/> sets no filter (the port is stolen or mirrored whole).</summary>
    public static HttpFilter? FromConfig(HttpFilterConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.HeaderFilter is { } header)
        {
            return new HttpFilter { Header = header };
        }

        if (config.PathFilter is { } path)
        {
            return new HttpFilter { Path = path };
        }

        if (config.MethodFilter is { } method)
        {
            return new HttpFilter { Method = method };
        }

        if (config.BodyFilter is { } body)
        {
            return new HttpFilter { JsonBody = JsonBody(body) };
        }

        if (config.AllOf is { } allOf)
        {
            return new HttpFilter { AllOf = List(allOf) };
        }

        if (config.AnyOf is { } anyOf)
        {
            return new HttpFilter { AnyOf = List(anyOf) };
        }

        return null;
    }

    /// <summary>
    /// The filter in one line for the progress line (<c>steal :80 → localhost:3000 (filter ^X-Dev-User: alice$)</c>):
    /// a header regex as written, <c>path REGEX</c>, <c>method REGEX</c>, <c>body QUERY REGEX</c>,
    /// <c>all_of(a, b)</c>, <c>any_of(a, b)</c>.
    /// </summary>
    public static string Describe(HttpFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        return filter.KindCase switch
        {
            HttpFilter.KindOneofCase.Header => filter.Header,
            HttpFilter.KindOneofCase.Path => "path " + filter.Path,
            HttpFilter.KindOneofCase.Method => "method " + filter.Method,
            HttpFilter.KindOneofCase.JsonBody => $"body {filter.JsonBody.Query} {filter.JsonBody.Matches}",
            HttpFilter.KindOneofCase.AllOf => $"all_of({string.Join(", ", filter.AllOf.Filters.Select(Describe))})",
            HttpFilter.KindOneofCase.AnyOf => $"any_of({string.Join(", ", filter.AnyOf.Filters.Select(Describe))})",
            _ => "no filter",
        };
    }

    private static HttpJsonBodyFilter JsonBody(HttpBodyFilterConfig body) => new() { Query = body.Query, Matches = body.Matches };

    private static HttpFilterList List(IReadOnlyList<HttpFilterRule> rules)
    {
        var list = new HttpFilterList();
        foreach (var rule in rules)
        {
            list.Filters.Add(
                rule.Header is { } header ? new HttpFilter { Header = header }
                : rule.Path is { } path ? new HttpFilter { Path = path }
                : rule.Method is { } method ? new HttpFilter { Method = method }
                : rule.BodyFilter is { } body ? new HttpFilter { JsonBody = JsonBody(body) }
                : throw new ArgumentException("An all_of/any_of rule sets none of header, path, method or body; the configuration binder never produces one.", nameof(rules)));
        }

        return list;
    }
}
