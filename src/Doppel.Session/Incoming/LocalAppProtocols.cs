using System.Collections.Concurrent;
using System.Net;
using Doppel.Protocol.Incoming;

namespace Doppel.Session.Incoming;

/// <summary>
/// What each local app (by its address) showed of HTTP/1.x and h2c, for the replay of stolen
/// requests (<see cref="ServeWork"/>): a client may speak h2c to the pod while the developer's
/// app speaks only HTTP/1.x (python http.server, busybox httpd, node's http), or HTTP/1.1 while
/// the app speaks only h2c (a gRPC server, Kestrel with <c>Protocols = Http2</c> on cleartext).
/// The judging is <see cref="HttpAppProtocols"/>'s (shared with the agent's pass-through to the
/// pod's app); this adds the user's side: a request that cannot be converted for such an app is
/// said once per app as a warning line, the later ones go to the log.
/// Shared by the Serve calls of a session's agent connections; a verdict holds for the session.
/// </summary>
internal sealed class LocalAppProtocols(Action<string>? warn = null)
{
    private readonly ConcurrentDictionary<IPEndPoint, byte> _warned = new();

    /// <summary>The verdicts and probes.</summary>
    public HttpAppProtocols Versions { get; } = new();

    /// <summary>
    /// Says <paramref name="line"/> (why a request to <paramref name="app"/> could not be
    /// converted to the one version it speaks, and what reaches it) as a warning, the first time
    /// for that app; false when it was said before.
    /// </summary>
    public bool WarnOnce(IPEndPoint app, string line)
    {
        if (warn is null || !_warned.TryAdd(app, 0))
        {
            return false;
        }

        warn(line);
        return true;
    }
}
