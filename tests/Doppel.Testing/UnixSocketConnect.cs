using System.Net.Sockets;

namespace Doppel.Testing;

/// <summary>An HTTP client's way to a server on a unix socket (an agent under test, a test gRPC server).</summary>
public static class UnixSocketConnect
{
    /// <summary>
    /// A <see cref="SocketsHttpHandler.ConnectCallback"/> that opens every connection to the
    /// stream socket at <paramref name="socketPath"/>, whatever the request's host.
    /// </summary>
    public static Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>> To(string socketPath) =>
        async (_, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        };
}
