using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using Doppel.Protocol.Incoming;
using Doppel.Protocol.V1;

namespace Doppel.Agent.Incoming;

/// <summary>
/// A subscription's <see cref="HttpFilter"/> compiled once and run on every request of a
/// filtered port. Immutable and thread-safe: any number of requests may be matched at once.
/// </summary>
/// <remarks>
/// The rules, after mirrord's agent (<c>mirrord/agent/src/http/filter.rs</c>, <c>HttpFilter::matches</c>)
/// unless said otherwise:
/// <list type="bullet">
/// <item><c>header</c>: the regex, case-insensitive (mirrord prefixes <c>(?i)</c>), is searched in
/// each header rendered <c>Name: value</c>; any match matches. doppel also renders an HTTP/2
/// <c>:authority</c> as <c>Host: value</c> (<see cref="HttpRequestView.RenderedHeaders"/>).</item>
/// <item><c>path</c>: the regex, case-insensitive, is searched in the path, then in path?query
/// ("For backward compatability, we first match path then we match path and query together and
/// return true if any of them matches").</item>
/// <item><c>method</c>: the regex, case-insensitive, must match the whole method. mirrord compares
/// the method name case-insensitively (<c>HttpMethodFilter</c>, <c>eq_ignore_ascii_case</c>); a
/// whole-match regex gives the same answer for every method name and also takes <c>GET|HEAD</c>.</item>
/// <item><c>all_of</c> / <c>any_of</c>: in order, stopping at the first deciding operand; they nest.</item>
/// <item><c>json_body</c>: the body (read by <see cref="RequestBody"/>, 64 KiB / 1 s) is parsed as
/// JSON, the query selects nodes (<see cref="JsonPathQuery"/>), each is stringified — a string as
/// its text, anything else as compact JSON with numbers as written — and the filter matches when
/// the regex matches one of them. The regex is case-sensitive: mirrord compiles <c>matches</c>
/// without <c>(?i)</c>. An incomplete or non-JSON body does not match and is counted.</item>
/// <item>Regexes use .NET syntax (look-arounds like mirrord's fancy-regex) and stop after the
/// match time-out (default 50 ms): a time-out is no match, counted in
/// <see cref="FilterCounters.RegexTimeouts"/>.</item>
/// <item>Probe rule (doppel's, issue 10: "probes must not kill pods"): a request with a
/// <c>User-Agent: kube-probe/…</c> header (<see cref="HttpRequestView.IsKubeProbe"/>) never
/// matches unless the filter names User-Agent: some <c>header</c> regex in it, at any depth,
/// contains the text <c>user-agent</c> (ordinal, case-insensitive) — as mirrord's documented
/// probe filter <c>^User-Agent: (?!kube-probe)</c> does. Probes then reach the pod's app.</item>
/// </list>
/// </remarks>
internal sealed class HttpFilterMatcher
{
    /// <summary>How long one regex evaluation may run before it counts as no match.</summary>
    public static readonly TimeSpan DefaultMatchTimeout = TimeSpan.FromMilliseconds(50);

    private static readonly JsonWriterOptions s_compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly Node _root;

    private HttpFilterMatcher(Node root, FilterCounters counters, bool needsBody, bool namesUserAgent)
    {
        _root = root;
        Counters = counters;
        NeedsBody = needsBody;
        NamesUserAgent = namesUserAgent;
    }

    /// <summary>Where this filter's no-match-for-other-reasons counts go.</summary>
    public FilterCounters Counters { get; }

    /// <summary>True when a body filter is part of the filter: the request body must be read ahead (<see cref="RequestBody.BufferAsync"/>) before matching.</summary>
    public bool NeedsBody { get; }

    /// <summary>True when a header regex names User-Agent, so Kubernetes probes are matched like any request (see the probe rule).</summary>
    public bool NamesUserAgent { get; }

    /// <summary>
    /// Compiles <paramref name="filter"/>; throws <see cref="InvalidHttpFilterException"/> with
    /// one sentence naming the part when a regex or query is invalid, a node has no kind, or a
    /// list is empty.
    /// </summary>
    public static HttpFilterMatcher Compile(HttpFilter filter, FilterCounters counters, TimeSpan? matchTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(counters);
        var compiler = new Compiler(matchTimeout ?? DefaultMatchTimeout);
        var root = compiler.Compile(filter, "filter");
        return new HttpFilterMatcher(root, counters, compiler.NeedsBody, compiler.NamesUserAgent);
    }

    /// <summary>
    /// Whether the request matches. <paramref name="body"/> is the read-ahead body, or null when
    /// it was not read (then body filters do not match).
    /// </summary>
    public bool Matches(HttpRequestView request, RequestBody? body)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!NamesUserAgent && request.IsKubeProbe)
        {
            return false;
        }

        return _root.Matches(request, body, Counters);
    }

    private static bool IsMatch(Regex regex, string input, FilterCounters counters)
    {
        try
        {
            return regex.IsMatch(input);
        }
        catch (RegexMatchTimeoutException)
        {
            counters.RegexTimedOut();
            return false;
        }
    }

    private static string Stringify(JsonElement node)
    {
        if (node.ValueKind == JsonValueKind.String)
        {
            return node.GetString()!;
        }

        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, s_compact))
        {
            node.WriteTo(writer);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private abstract class Node
    {
        public abstract bool Matches(HttpRequestView request, RequestBody? body, FilterCounters counters);
    }

    private sealed class HeaderNode(Regex regex) : Node
    {
        public override bool Matches(HttpRequestView request, RequestBody? body, FilterCounters counters)
        {
            foreach (var line in request.RenderedHeaders)
            {
                if (IsMatch(regex, line, counters))
                {
                    return true;
                }
            }

            return false;
        }
    }

    private sealed class PathNode(Regex regex) : Node
    {
        public override bool Matches(HttpRequestView request, RequestBody? body, FilterCounters counters) =>
            IsMatch(regex, request.Path, counters) || (request.Query is not null && IsMatch(regex, request.PathAndQuery, counters));
    }

    private sealed class MethodNode(Regex regex) : Node
    {
        public override bool Matches(HttpRequestView request, RequestBody? body, FilterCounters counters) => IsMatch(regex, request.Method, counters);
    }

    private sealed class ListNode(Node[] operands, bool all) : Node
    {
        public override bool Matches(HttpRequestView request, RequestBody? body, FilterCounters counters)
        {
            foreach (var operand in operands)
            {
                if (operand.Matches(request, body, counters) != all)
                {
                    return !all;
                }
            }

            return all;
        }
    }

    private sealed class JsonBodyNode(JsonPathQuery query, Regex matches) : Node
    {
        public override bool Matches(HttpRequestView request, RequestBody? body, FilterCounters counters)
        {
            if (body is null)
            {
                return false;
            }

            if (body.Outcome != BodyBufferOutcome.Complete)
            {
                counters.BodyUnusable(body.Outcome);
                return false;
            }

            if (!body.TryGetJson(out var root))
            {
                counters.BodyNotJson();
                return false;
            }

            var nodes = new List<JsonElement>();
            query.Select(root, nodes);
            foreach (var node in nodes)
            {
                if (IsMatch(matches, Stringify(node), counters))
                {
                    return true;
                }
            }

            return false;
        }
    }

    private sealed class Compiler(TimeSpan matchTimeout)
    {
        public bool NeedsBody { get; private set; }

        public bool NamesUserAgent { get; private set; }

        public Node Compile(HttpFilter filter, string where) => filter.KindCase switch
        {
            HttpFilter.KindOneofCase.Header => Header(filter.Header, where + ".header"),
            HttpFilter.KindOneofCase.Path => new PathNode(Pattern(filter.Path, where + ".path", RegexOptions.IgnoreCase)),
            HttpFilter.KindOneofCase.Method => new MethodNode(Pattern("^(?:" + filter.Method + ")$", where + ".method", RegexOptions.IgnoreCase, filter.Method)),
            HttpFilter.KindOneofCase.AllOf => List(filter.AllOf, where + ".all_of", all: true),
            HttpFilter.KindOneofCase.AnyOf => List(filter.AnyOf, where + ".any_of", all: false),
            HttpFilter.KindOneofCase.JsonBody => JsonBody(filter.JsonBody, where + ".json_body"),
            _ => throw new InvalidHttpFilterException($"{where}: the filter has no kind (header, path, method, all_of, any_of or json_body); the session is newer than this agent or sent an empty filter."),
        };

        private HeaderNode Header(string pattern, string where)
        {
            NamesUserAgent |= pattern.Contains("user-agent", StringComparison.OrdinalIgnoreCase);
            return new HeaderNode(Pattern(pattern, where, RegexOptions.IgnoreCase));
        }

        private ListNode List(HttpFilterList list, string where, bool all)
        {
            if (list.Filters.Count == 0)
            {
                throw new InvalidHttpFilterException($"{where}: the list is empty, so it would match {(all ? "every" : "no")} request.");
            }

            return new ListNode([.. list.Filters.Select((f, i) => Compile(f, $"{where}[{i}]"))], all);
        }

        private JsonBodyNode JsonBody(HttpJsonBodyFilter filter, string where)
        {
            if (!JsonPathQuery.TryParse(filter.Query, out var query, out var problem))
            {
                throw new InvalidHttpFilterException($"{where}.query: '{filter.Query}' is not a JSONPath query doppel can evaluate: {problem}.");
            }

            NeedsBody = true;
            return new JsonBodyNode(query, Pattern(filter.Matches, where + ".matches", RegexOptions.None));
        }

        private Regex Pattern(string pattern, string where, RegexOptions caseOption, string? written = null)
        {
            if ((written ?? pattern).Length == 0)
            {
                throw new InvalidHttpFilterException($"{where}: the regex is empty, so it would match every request.");
            }

            try
            {
                return new Regex(pattern, caseOption | RegexOptions.CultureInvariant, matchTimeout);
            }
            catch (ArgumentException e)
            {
                throw new InvalidHttpFilterException($"{where}: '{written ?? pattern}' is not a valid regular expression ({e.Message}).", e);
            }
        }
    }
}
