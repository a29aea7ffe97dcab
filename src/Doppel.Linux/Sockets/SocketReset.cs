using System.Net.Sockets;

namespace Doppel.Linux.Sockets;

/// <summary>Ending a TCP connection with a reset instead of an orderly close.</summary>
public static class SocketReset
{
    /// <summary>
    /// Closes <paramref name="socket"/> with <c>SO_LINGER</c> {on, 0}, so close(2) sends an RST
    /// instead of a FIN and the peer sees ECONNRESET (socket(7)). A socket the peer already reset,
    /// or one already closed, is closed without error.
    /// </summary>
    public static void Close(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // already reset by the peer, or already closed
        }

        socket.Dispose();
    }
}
