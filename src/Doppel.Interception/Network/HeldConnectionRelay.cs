using System.Net;
using System.Net.Sockets;

namespace Doppel.Interception.Network;

/// <summary>
/// Carries a connection that an app socket got at the holding address (<see
/// cref="HoldingListener.AnswerAsync"/>) to the destination's stand-in: bytes both ways,
/// end of stream passed on as a half-close, a reset or error on either side passed on as a reset
/// (so the app sees ECONNRESET where the stand-in's relay resets, as it would connected directly).
/// </summary>
internal static class HeldConnectionRelay
{
    private const int ChunkSize = 64 * 1024;

    /// <summary>
    /// Connects to <paramref name="standIn"/> (loopback; its listener accepts at once) from a socket
    /// made in the program's network namespace, where the stand-in listens, and starts the copying.
    /// Returns the relaying socket's local address (the peer the stand-in sees), or null (and
    /// <paramref name="held"/> reset, so the app sees ECONNRESET) when the stand-in cannot be reached.
    /// </summary>
    public static async Task<IPEndPoint?> StartAsync(Socket held, IPEndPoint standIn, HoldingListener holding)
    {
        Socket relayed;
        try
        {
            relayed = await holding.NewSocketAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Reset(held);
            return null;
        }

        try
        {
            await relayed.ConnectAsync(standIn).ConfigureAwait(false);
            relayed.NoDelay = true;
        }
        catch (SocketException)
        {
            relayed.Dispose();
            Reset(held);
            return null;
        }

        var source = (IPEndPoint?)relayed.LocalEndPoint;
        _ = RunAsync(held, relayed);
        return source;
    }

    private static async Task RunAsync(Socket held, Socket relayed)
    {
        var up = CopyAsync(held, relayed);
        var down = CopyAsync(relayed, held);
        if (!await await Task.WhenAny(up, down).ConfigureAwait(false))
        {
            Reset(held);
            Reset(relayed);
        }

        var ends = await Task.WhenAll(up, down).ConfigureAwait(false);
        if (ends.Contains(false))
        {
            Reset(held);
            Reset(relayed);
        }

        held.Dispose();
        relayed.Dispose();
    }

    /// <summary>Copies until end of stream, then half-closes <paramref name="to"/>; false on a reset or error.</summary>
    private static async Task<bool> CopyAsync(Socket from, Socket to)
    {
        var buffer = GC.AllocateUninitializedArray<byte>(ChunkSize);
        try
        {
            int n;
            while ((n = await from.ReceiveAsync(buffer, SocketFlags.None).ConfigureAwait(false)) > 0)
            {
                for (var sent = 0; sent < n;)
                {
                    sent += await to.SendAsync(buffer.AsMemory(sent, n - sent), SocketFlags.None).ConfigureAwait(false);
                }
            }

            to.Shutdown(SocketShutdown.Send);
            return true;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>Closes with SO_LINGER 0: an RST, not a FIN.</summary>
    private static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }

        socket.Dispose();
    }
}
