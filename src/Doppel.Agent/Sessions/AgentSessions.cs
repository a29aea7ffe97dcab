using System.Collections.Concurrent;
using Doppel.Protocol;
using Doppel.Protocol.V1;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;

namespace Doppel.Agent.Sessions;

/// <summary>
/// The sessions of the agent (agent.proto, "Sessions"), by id and by the HTTP/2 connections they
/// opened:
/// <code>
///   Hello ──────────────────────────────► record (id from doppel-session-id, or made up) + this connection
///   any call with doppel-session-id ────► ties its connection to that session (once per connection);
///                                         a session with no Hello here takes the one in doppel-session-hello-bin
///   connection closes (Wrap) ───────────► the session's last one: no longer listed
/// </code>
/// A session that vanishes (killed, its port-forward gone) is dropped when its connections close —
/// at once for a closed socket, within Kestrel's keepalive (5 s) for a silent one. Its record is
/// kept for <see cref="Forget"/> so that a session that reconnects is listed again as it was;
/// records gone that long are removed at the next Hello or Status.
/// </summary>
internal sealed class AgentSessions(TimeProvider time)
{
    /// <summary>How long the record of a session without connections is kept for its reconnect.</summary>
    public static readonly TimeSpan Forget = TimeSpan.FromMinutes(10);

    private readonly ConcurrentDictionary<string, AgentSession> _sessions = new(StringComparer.Ordinal);

    // connection id → the session whose id its calls carry
    private readonly ConcurrentDictionary<string, AgentSession> _connections = new(StringComparer.Ordinal);

    /// <summary>When the agent started.</summary>
    public DateTimeOffset Started { get; } = time.GetUtcNow();

    /// <summary>Records the Hello of a session; <paramref name="id"/> null or empty (no metadata): a session of this connection alone.</summary>
    public AgentSession Hello(string? id, string connectionId, HelloRequest hello)
    {
        Prune();
        var session = Bind(string.IsNullOrEmpty(id) ? "c-" + SessionMetadata.NewId() : id, connectionId);
        session.Hello = hello;
        session.Ending = false;
        return session;
    }

    /// <summary>Ties the connection of a call to the session named by its <c>doppel-session-id</c> header (middleware; no header: nothing).</summary>
    public void Bind(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Request.Headers.TryGetValue(SessionMetadata.Key, out var id) && id.Count == 1 && !string.IsNullOrEmpty(id[0]))
        {
            var session = Bind(id[0]!, context.Connection.Id);

            // A session that never said Hello to this agent (it reconnected to an agent placed anew) says who it is with every call.
            if (session.Hello is null && context.Request.Headers.TryGetValue(SessionMetadata.HelloKey, out var hello) && hello.Count == 1)
            {
                session.Hello = SessionMetadata.DecodeHello(hello[0]);
            }
        }
    }

    /// <summary>
    /// Whether a session's connections closed without it saying it ends (<see cref="AgentSession.Ending"/>)
    /// less than <paramref name="within"/> ago: it may be reconnecting (its port-forward or the API
    /// server dropped), so the agent waits for it (<see cref="Hosting.IdleExit"/>).
    /// </summary>
    public bool AnyDropped(TimeSpan within)
    {
        var now = time.GetUtcNow();
        return _sessions.Values.Any(s => !s.Ending && !s.IsConnected && now - s.LeftAt < within);
    }

    /// <summary>The session a connection belongs to, or null.</summary>
    public AgentSession? ForConnection(string connectionId) => _connections.GetValueOrDefault(connectionId);

    /// <summary>The sessions with an open connection, oldest first.</summary>
    public IReadOnlyList<AgentSession> Connected()
    {
        Prune();
        return [.. _sessions.Values.Where(s => s.IsConnected).OrderBy(s => s.Since).ThenBy(s => s.Id, StringComparer.Ordinal)];
    }

    /// <summary>Kestrel connection middleware: when the connection closes, its session loses it.</summary>
    public ConnectionDelegate Wrap(ConnectionDelegate next) => async context =>
    {
        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            Closed(context.ConnectionId);
        }
    };

    /// <summary>Raised with the id of every connection that closed (whatever its session): the pod locks it held go (PodLocks).</summary>
    public event Action<string>? ConnectionEnded;

    /// <summary>A connection closed.</summary>
    public void Closed(string connectionId)
    {
        ConnectionEnded?.Invoke(connectionId);
        if (_connections.TryRemove(connectionId, out var session))
        {
            session.ConnectionClosed(time.GetUtcNow());
        }
    }

    /// <summary>Ties <paramref name="connectionId"/> to the session <paramref name="id"/> (made when new); a connection already tied stays with its session.</summary>
    public AgentSession Bind(string id, string connectionId)
    {
        if (_connections.TryGetValue(connectionId, out var bound))
        {
            return bound; // a connection belongs to the session of its first call
        }

        var session = _sessions.GetOrAdd(id, static (key, now) => new AgentSession(key, now), time.GetUtcNow());
        if (_connections.TryAdd(connectionId, session))
        {
            session.ConnectionOpened();
            return session;
        }

        return _connections[connectionId];
    }

    private void Prune()
    {
        var now = time.GetUtcNow();
        foreach (var session in _sessions.Values)
        {
            if (!session.IsConnected && now - session.LeftAt > Forget)
            {
                _sessions.TryRemove(new KeyValuePair<string, AgentSession>(session.Id, session));
            }
        }
    }
}
