using System.Net;
using System.Net.Sockets;
using Doppel.Interception.Remote;

namespace Doppel.Session.Tests.Support;

/// <summary>Plays the interception engine's part at a TCP stand-in: connects a socket to it and admits that socket.</summary>
internal static class AppSocket
{
    /// <summary>A loopback socket connected to <paramref name="standIn"/> and admitted there (its local address).</summary>
    public static async Task<Socket> ConnectAsync(TcpStandIn? standIn, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(standIn);
        var app = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await app.ConnectAsync(standIn.EndPoint, cancellationToken);
            standIn.Admit((IPEndPoint)app.LocalEndPoint!);
            return app;
        }
        catch
        {
            app.Dispose();
            throw;
        }
    }
}
