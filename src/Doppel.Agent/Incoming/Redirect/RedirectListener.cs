using System.Net;
using System.Net.Sockets;
using Doppel.Agent.Network;

namespace Doppel.Agent.Incoming;

/// <summary>
/// The agent's listening socket in the target's network namespace that the redirect sends
/// connections to: one dual-stack socket on <c>[::]</c> and a free port (IPv4 connections arrive
/// IPv4-mapped), or <c>0.0.0.0</c> when the namespace has no IPv6.
/// </summary>
internal static class RedirectListener
{
    private const int Backlog = 512;

    /// <summary>Creates, binds and starts the listener; its port is <c>((IPEndPoint)socket.LocalEndPoint).Port</c>.</summary>
    public static async Task<Socket> OpenAsync(TargetNetwork network, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(network);
        cancellationToken.ThrowIfCancellationRequested();
        Socket? socket = null;
        try
        {
            socket = await network.CreateSocketAsync(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp).ConfigureAwait(false);
            socket.DualMode = true;
            socket.Bind(new IPEndPoint(IPAddress.IPv6Any, 0));
        }
        catch (SocketException)
        {
            // IPv6 disabled in the namespace (or the kernel): IPv4 only.
            socket?.Dispose();
            socket = await network.CreateSocketAsync(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp).ConfigureAwait(false);
            socket.Bind(new IPEndPoint(IPAddress.Any, 0));
        }

        try
        {
            socket.Listen(Backlog);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
