using System.Net;
using Doppel.Agent.Incoming;
using Doppel.Protocol.V1;

namespace Doppel.Agent.Tests.Incoming.Filters;

/// <summary>Requests and filters as the router would hand them to the matcher.</summary>
internal static class Requests
{
    /// <summary>A request for <paramref name="target"/> ("/path?query") with headers given as "Name: value".</summary>
    public static HttpRequestView Get(string target, params string[] headers) => Make("GET", target, HttpVersion.Version11, null, headers);

    public static HttpRequestView Make(string method, string target, Version version, string? authority, params string[] headers)
    {
        var question = target.IndexOf('?', StringComparison.Ordinal);
        return new HttpRequestView
        {
            Method = method,
            Path = question < 0 ? target : target[..question],
            Query = question < 0 ? null : target[(question + 1)..],
            Headers = [.. headers.Select(h => new KeyValuePair<string, string>(h[..h.IndexOf(':', StringComparison.Ordinal)], h[(h.IndexOf(':', StringComparison.Ordinal) + 1)..].TrimStart()))],
            HttpVersion = version,
            Authority = authority,
        };
    }

    public static HttpFilter Header(string regex) => new() { Header = regex };

    public static HttpFilter Path(string regex) => new() { Path = regex };

    public static HttpFilter Method(string regex) => new() { Method = regex };

    public static HttpFilter Json(string query, string matches) => new() { JsonBody = new HttpJsonBodyFilter { Query = query, Matches = matches } };

    public static HttpFilter AllOf(params HttpFilter[] filters) => new() { AllOf = new HttpFilterList { Filters = { filters } } };

    public static HttpFilter AnyOf(params HttpFilter[] filters) => new() { AnyOf = new HttpFilterList { Filters = { filters } } };

    public static HttpFilterMatcher Compile(HttpFilter filter, FilterCounters? counters = null) => HttpFilterMatcher.Compile(filter, counters ?? new FilterCounters());
}
