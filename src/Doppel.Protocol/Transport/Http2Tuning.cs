namespace Doppel.Protocol;

/// <summary>
/// HTTP/2 settings both ends of a session use (LINUX-NOTES.md, "gRPC over HTTP/2").
/// </summary>
/// <remarks>
/// Flow-control windows cap a stream at window / RTT: Kestrel's defaults (1 MiB connection,
/// 768 KiB stream) hold a 10 ms port-forward round trip to ≈ 75–100 MB/s; on loopback the
/// window makes no difference. The values below let one stream carry ≈ 400 MB/s at 10 ms and
/// four streams at once share the connection window at that speed. Apply them as:
/// <code>
/// // agent (Kestrel)
/// options.Limits.Http2.InitialConnectionWindowSize = Http2Tuning.ConnectionWindowSize;
/// options.Limits.Http2.InitialStreamWindowSize = Http2Tuning.StreamWindowSize;
/// options.Limits.Http2.MaxStreamsPerConnection = Http2Tuning.MaxStreamsPerConnection;
/// // session (SocketsHttpHandler)
/// handler.InitialHttp2StreamWindowSize = Http2Tuning.StreamWindowSize;
/// handler.EnableMultipleHttp2Connections = true;
/// </code>
/// Each session opens two HTTP/2 connections: one for control calls (files, env, DNS, hello)
/// and one for relayed bytes (ConnectTcp, OpenUdp, large ReadFile/WriteFile); a small call
/// sharing a connection with a bulk stream waits ≈ 1 ms instead of ≈ 0.1 ms.
/// </remarks>
public static class Http2Tuning
{
    /// <summary>Receive window of one HTTP/2 stream: 4 MiB.</summary>
    public const int StreamWindowSize = 4 * 1024 * 1024;

    /// <summary>Receive window of a whole HTTP/2 connection: 16 MiB.</summary>
    public const int ConnectionWindowSize = 16 * 1024 * 1024;

    /// <summary>
    /// Concurrent streams the agent allows per connection (Kestrel's default is 100): every
    /// relayed TCP connection and UDP flow is a stream on the relay connection.
    /// </summary>
    public const int MaxStreamsPerConnection = 1000;
}
