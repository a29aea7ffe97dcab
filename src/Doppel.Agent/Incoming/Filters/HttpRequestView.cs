namespace Doppel.Agent.Incoming;

/// <summary>
/// What an HTTP filter sees of a request, independent of the server that parsed it (Kestrel
/// fills it in the router; tests build it directly). The body is not here: body filters get a
/// <see cref="RequestBody"/> next to it.
/// </summary>
internal sealed class HttpRequestView
{
    private string[]? _renderedHeaders;

    /// <summary>The method as received, e.g. <c>GET</c>.</summary>
    public required string Method { get; init; }

    /// <summary>The path of the request target, e.g. <c>/api/users</c> (no query, not decoded).</summary>
    public required string Path { get; init; }

    /// <summary>The query without its <c>?</c>, e.g. <c>a=1&amp;b=2</c>; null when the target has no <c>?</c>.</summary>
    public string? Query { get; init; }

    /// <summary>The request headers in arrival order, names as received (a repeated header appears once per line).</summary>
    public required IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; }

    /// <summary>The HTTP version (1.0, 1.1 or 2.0).</summary>
    public Version HttpVersion { get; init; } = System.Net.HttpVersion.Version11;

    /// <summary>
    /// The HTTP/2 <c>:authority</c> pseudo-header, null for HTTP/1.x. Header filters also see it as
    /// <c>Host: value</c>, so one filter on <c>Host</c> works for both versions (mirrord's hyper
    /// agent keeps it in the URI only, where a header filter never sees it).
    /// </summary>
    public string? Authority { get; init; }

    /// <summary>The path, then <c>?</c> and the query when there is one: what mirrord calls path_and_query.</summary>
    public string PathAndQuery => Query is null ? Path : Path + "?" + Query;

    /// <summary>
    /// True when a <c>User-Agent</c> header starts with <c>kube-probe/</c> (case-insensitive), the
    /// agent string of the kubelet's HTTP liveness, readiness and startup probes.
    /// </summary>
    public bool IsKubeProbe
    {
        get
        {
            foreach (var (name, value) in Headers)
            {
                if (name.Equals("User-Agent", StringComparison.OrdinalIgnoreCase) && KubeProbeHead.IsKubeProbeUserAgent(value))
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>
    /// Each header as <c>Name: value</c> (one space, as mirrord renders them), then
    /// <c>Host: authority</c> for HTTP/2. Computed once per request; a request is matched on one
    /// thread at a time.
    /// </summary>
    public IReadOnlyList<string> RenderedHeaders => _renderedHeaders ??= Render();

    private string[] Render()
    {
        var lines = new string[Headers.Count + (Authority is null ? 0 : 1)];
        for (var i = 0; i < Headers.Count; i++)
        {
            lines[i] = Headers[i].Key + ": " + Headers[i].Value;
        }

        if (Authority is not null)
        {
            lines[^1] = "Host: " + Authority;
        }

        return lines;
    }
}
