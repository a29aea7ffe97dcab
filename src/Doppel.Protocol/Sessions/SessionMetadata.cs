namespace Doppel.Protocol;

/// <summary>
/// How a session names itself to an agent (agent.proto, "Sessions"): every call carries gRPC
/// metadata <see cref="Key"/> with the session's id, so the agent can tie each HTTP/2 connection
/// to the session that opened it and drop the session when its last connection closes.
/// </summary>
public static class SessionMetadata
{
    /// <summary>The metadata key (lower case, as HTTP/2 requires).</summary>
    public const string Key = "doppel-session-id";

    /// <summary>A new random session id: 16 lower-case hex digits.</summary>
    public static string NewId() => Guid.NewGuid().ToString("N")[..16];
}
