using System.Net;
using System.Net.Sockets;
using Doppel.Interception.Remote;
using Doppel.Linux.Sockets;

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
    /// made in the program's network namespace, where the stand-in listens, admits that socket
    /// there (the peer the stand-in sees) and starts the copying. Should the stand-in be out of
    /// reach, <paramref name="held"/> is reset, so the app sees ECONNRESET.
    /// </summary>
    public static async Task StartAsync(Socket held, TcpStandIn standIn, HoldingListener holding)
    {
        Socket relayed;
        try
        {
            relayed = await holding.NewSocketAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Reset(held);
            return;
        }

        try
        {
            await relayed.ConnectAsync(standIn.EndPoint).ConfigureAwait(false);
            relayed.NoDelay = true;
            standIn.Admit((IPEndPoint)relayed.LocalEndPoint!);
        }
        catch (SocketException)
        {
            relayed.Dispose();
            Reset(held);
            return;
        }

        _ = RunAsync(held, relayed);
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
    private static void Reset(Socket socket) => SocketReset.Close(socket);
}
