using System.Net;
using System.Net.Sockets;

namespace Doppel.Session.Remote;

/// <summary>The stand-ins' sockets: IPv4 on 127.0.0.1, a free port, in the calling thread's network namespace.</summary>
internal static class LoopbackSocket
{
    /// <summary>
    /// A new socket bound to 127.0.0.1 port 0, listening with <paramref name="backlog"/> when one
    /// is given. A bind or listen that throws <see cref="SocketException"/> (EADDRINUSE with no
    /// free port, EMFILE, ...) closes the socket before the exception goes on: nothing is leaked.
    /// </summary>
    public static Socket Bind(SocketType type, ProtocolType protocol, int? backlog = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, type, protocol);
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            if (backlog is { } queue)
            {
                socket.Listen(queue);
            }

            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
