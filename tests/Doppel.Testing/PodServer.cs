namespace Doppel.Testing;

/// <summary>
/// A long-running process of a pod: a tiny HTTP server, a UDP or TCP echo, or any command.
/// The harness starts it inside the pod (with the pod's env, netns and /etc files) and waits
/// until it listens on <see cref="Port"/>.
/// </summary>
public sealed record PodServer
{
    public required string Name { get; init; }

    public ServerKind Kind { get; init; }

    /// <summary>The port the server listens on; 0 when it listens on none (no readiness wait).</summary>
    public int Port { get; init; }

    public PortProtocol Protocol { get; init; } = PortProtocol.Tcp;

    /// <summary>What an HTTP server answers to GET; <c>null</c> means "hello from POD\n".</summary>
    public string? Body { get; init; }

    /// <summary>The command of a <see cref="ServerKind.Command"/> server (argv, looked up on the pod's PATH).</summary>
    public IReadOnlyList<string> Command { get; init; } = [];

    /// <summary>An HTTP/1.1 server on <paramref name="port"/>: GET/HEAD answer <paramref name="body"/>, POST/PUT echo the request body.</summary>
    public static PodServer Http(int port, string? body = null)
        => new() { Name = $"http-{port}", Kind = ServerKind.Http, Port = port, Body = body };

    /// <summary>Sends every datagram back to its sender (not available in container pods).</summary>
    public static PodServer UdpEcho(int port)
        => new() { Name = $"udp-echo-{port}", Kind = ServerKind.UdpEcho, Port = port, Protocol = PortProtocol.Udp };

    /// <summary>Sends every connection's bytes back.</summary>
    public static PodServer TcpEcho(int port)
        => new() { Name = $"tcp-echo-{port}", Kind = ServerKind.TcpEcho, Port = port };

    /// <summary>Any command; when <paramref name="port"/> is not 0 the harness waits until it listens there.</summary>
    public static PodServer Run(string name, IReadOnlyList<string> command, int port = 0, PortProtocol protocol = PortProtocol.Tcp)
        => new() { Name = name, Kind = ServerKind.Command, Command = command, Port = port, Protocol = protocol };
}
