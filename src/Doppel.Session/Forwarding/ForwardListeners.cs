using System.Net;
using System.Net.Sockets;

namespace Doppel.Session.Forwarding;

/// <summary>
/// The local listeners of <c>doppel port-forward -L</c>, one per forward on 127.0.0.1, bound before the
/// agent is placed so that a port in use stops doppel before anything is started in the cluster.
/// </summary>
public sealed class ForwardListeners : IDisposable
{
    private const int Backlog = 512;

    private ForwardListeners(IReadOnlyList<(LocalForward Forward, Socket Socket)> listeners)
    {
        Listeners = listeners;
    }

    /// <summary>Each forward with its listening socket, in the order given.</summary>
    internal IReadOnlyList<(LocalForward Forward, Socket Socket)> Listeners { get; }

    /// <summary>
    /// Binds and listens on 127.0.0.1:LocalPort for each forward. Throws
    /// <see cref="PortForwardException"/> naming the flag and the port when one cannot be bound (in use,
    /// a privileged port without the capability); nothing stays bound then.
    /// </summary>
    public static ForwardListeners Bind(IReadOnlyList<LocalForward> forwards)
    {
        ArgumentNullException.ThrowIfNull(forwards);
        var bound = new List<(LocalForward, Socket)>();
        try
        {
            foreach (var forward in forwards)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                bound.Add((forward, socket));
                try
                {
                    socket.Bind(new IPEndPoint(IPAddress.Loopback, forward.LocalPort));
                    socket.Listen(Backlog);
                }
                catch (SocketException e)
                {
                    var why = e.SocketErrorCode switch
                    {
                        SocketError.AddressAlreadyInUse => "another program listens there",
                        SocketError.AccessDenied => "ports below 1024 need root or CAP_NET_BIND_SERVICE",
                        _ => e.Message,
                    };
                    throw new PortForwardException($"-L {forward.LocalPort}:{forward.Remote}: 127.0.0.1:{forward.LocalPort} cannot be listened on ({why}); choose another local port.", e);
                }
            }

            return new ForwardListeners(bound);
        }
        catch
        {
            foreach (var (_, socket) in bound)
            {
                socket.Dispose();
            }

            throw;
        }
    }

    /// <summary>Closes every listener (connections already accepted are not affected).</summary>
    public void Dispose()
    {
        foreach (var (_, socket) in Listeners)
        {
            socket.Dispose();
        }
    }
}
