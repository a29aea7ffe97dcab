using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Doppel.Session.Agent;

/// <summary>
/// Where an agent listens: <c>unix:PATH</c> (a local agent) or <c>HOST:PORT</c> (an agent behind a
/// port-forward). Parsed from the agent's "listening on …" line.
/// </summary>
public sealed record AgentEndpoint : IAgentTransport
{
    private AgentEndpoint(EndPoint endPoint, string text)
    {
        EndPoint = endPoint;
        Text = text;
    }

    /// <summary>The socket address to connect to.</summary>
    public EndPoint EndPoint { get; }

    /// <summary>The endpoint as written (<c>unix:/run/…/agent.sock</c>, <c>127.0.0.1:7777</c>).</summary>
    public string Text { get; }

    /// <inheritdoc/>
    public string Address => Text;

    /// <summary>A unix socket path.</summary>
    public static AgentEndpoint Unix(string path) => new(new UnixDomainSocketEndPoint(path), "unix:" + path);

    /// <summary>Parses <c>unix:PATH</c> or <c>IP:PORT</c>; throws <see cref="FormatException"/> otherwise.</summary>
    public static AgentEndpoint Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.StartsWith("unix:", StringComparison.Ordinal) && text.Length > "unix:".Length)
        {
            return Unix(text["unix:".Length..]);
        }

        if (IPEndPoint.TryParse(text, out var ip) && ip.Port != 0)
        {
            return new AgentEndpoint(ip, ip.ToString());
        }

        throw new FormatException(string.Format(CultureInfo.InvariantCulture, "'{0}' is not an agent address: expected unix:PATH or IP:PORT.", text));
    }

    /// <summary>Opens a new stream to the agent (one per HTTP/2 connection).</summary>
    public async ValueTask<Stream> ConnectAsync(CancellationToken cancellationToken)
    {
        var socket = EndPoint is UnixDomainSocketEndPoint
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(EndPoint, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public override string ToString() => Text;
}
