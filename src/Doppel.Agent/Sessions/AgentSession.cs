using Doppel.Protocol.V1;

namespace Doppel.Agent.Sessions;

/// <summary>
/// One session the agent knows of (agent.proto, "Sessions"): who it is (from its Hello), how many
/// of its HTTP/2 connections are open, and — from IncomingService — its subscriptions and the
/// requests and connections handed to it. Counters are <see cref="Interlocked"/>; the rest changes
/// under the session's lock.
/// </summary>
internal sealed class AgentSession(string id, DateTimeOffset since)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<int, (string Call, SubscriptionStatus Status)> _subscriptions = [];
    private long _requests;
    private long _connections;
    private int _open;

    /// <summary>The session's id (its <c>doppel-session-id</c> metadata, or one the agent made up).</summary>
    public string Id { get; } = id;

    /// <summary>When the agent first heard of it.</summary>
    public DateTimeOffset Since { get; } = since;

    /// <summary>What its Hello said; null until then (a session that reconnected to a restarted agent).</summary>
    public HelloRequest? Hello { get; set; }

    /// <summary>At least one of its connections is open.</summary>
    public bool IsConnected
    {
        get
        {
            lock (_lock)
            {
                return _open > 0;
            }
        }
    }

    /// <summary>It said it ends (<c>PingRequest.ending</c>): its connections closing is no drop to wait out.</summary>
    public bool Ending { get; set; }

    /// <summary>When its last connection closed (meaningful only while not connected).</summary>
    public DateTimeOffset LeftAt { get; private set; } = since;

    /// <summary>Counts a piece of incoming work handed to the session: a whole TCP connection or an HTTP request.</summary>
    public void CountRouted(bool connection)
    {
        if (connection)
        {
            Interlocked.Increment(ref _connections);
        }
        else
        {
            Interlocked.Increment(ref _requests);
        }
    }

    /// <summary>Records a subscription of <paramref name="port"/> made by the Subscribe call <paramref name="call"/>.</summary>
    public void Subscribed(string call, int port, SubscriptionMode mode, string filter)
    {
        lock (_lock)
        {
            _subscriptions[port] = (call, new SubscriptionStatus { Port = (uint)port, Mode = mode, Filter = filter });
        }
    }

    /// <summary>Forgets the subscription of <paramref name="port"/>.</summary>
    public void Unsubscribed(int port)
    {
        lock (_lock)
        {
            _subscriptions.Remove(port);
        }
    }

    /// <summary>Forgets the subscriptions the Subscribe call <paramref name="call"/> made (it ended); a newer call's stay.</summary>
    public void CallEnded(string call)
    {
        lock (_lock)
        {
            foreach (var (port, subscription) in _subscriptions.ToList())
            {
                if (subscription.Call == call)
                {
                    _subscriptions.Remove(port);
                }
            }
        }
    }

    /// <summary>A connection of the session opened (its first call carried the session's id).</summary>
    public void ConnectionOpened()
    {
        lock (_lock)
        {
            _open++;
        }
    }

    /// <summary>A connection of the session closed; true when it was the last one.</summary>
    public bool ConnectionClosed(DateTimeOffset now)
    {
        lock (_lock)
        {
            if (--_open > 0)
            {
                return false;
            }

            LeftAt = now;
            return true;
        }
    }

    /// <summary>The session as <c>StatusResponse.sessions</c> lists it.</summary>
    public SessionStatus ToStatus()
    {
        var status = new SessionStatus
        {
            Id = Id,
            User = Hello?.User ?? string.Empty,
            Machine = Hello?.Machine ?? string.Empty,
            Pid = Hello?.Pid ?? 0,
            ClientVersion = Hello?.ClientVersion ?? string.Empty,
            SessionName = Hello?.SessionName ?? string.Empty,
            ConnectedUnixMs = Since.ToUnixTimeMilliseconds(),
            Requests = (ulong)Interlocked.Read(ref _requests),
            Connections = (ulong)Interlocked.Read(ref _connections),
        };
        lock (_lock)
        {
            status.Subscriptions.Add(_subscriptions.Values.Select(s => s.Status).OrderBy(s => s.Port));
        }

        return status;
    }
}
