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

    /// <summary>
    /// The metadata key of the session's Hello (who runs it: user, machine, pid, version, name),
    /// sent with every call besides the Hello itself, so that an agent the session reaches without
    /// a Hello — one placed anew after the first was deleted, which the session's transport
    /// reconnects to by itself — still knows who the session is (<c>doppel status</c>). A gRPC
    /// binary header (the <c>-bin</c> suffix): the value is the HelloRequest message in base64.
    /// </summary>
    public const string HelloKey = "doppel-session-hello-bin";

    /// <summary>The <see cref="HelloKey"/> value of <paramref name="hello"/>: its protobuf bytes in base64 (padded).</summary>
    public static string EncodeHello(V1.HelloRequest hello)
    {
        ArgumentNullException.ThrowIfNull(hello);
        return Convert.ToBase64String(Google.Protobuf.MessageExtensions.ToByteArray(hello));
    }

    /// <summary>The Hello in a <see cref="HelloKey"/> value (base64, padded or not, as gRPC allows); null when it is missing or not one.</summary>
    public static V1.HelloRequest? DecodeHello(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        var padded = value.Length % 4 == 0 ? value : value + new string('=', 4 - (value.Length % 4));
        try
        {
            return V1.HelloRequest.Parser.ParseFrom(Convert.FromBase64String(padded));
        }
        catch (Exception e) when (e is FormatException or Google.Protobuf.InvalidProtocolBufferException)
        {
            return null;
        }
    }

    /// <summary>A new random session id: 16 lower-case hex digits.</summary>
    public static string NewId() => Guid.NewGuid().ToString("N")[..16];
}
