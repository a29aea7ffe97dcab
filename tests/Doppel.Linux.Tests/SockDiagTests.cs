using System.Net;
using System.Net.Sockets;
using Doppel.Linux.Sockets;

namespace Doppel.Linux.Tests;

public sealed class SockDiagTests
{
    [Fact]
    public void AListenerIsListedWithItsPortAndInodeUntilItCloses()
    {
        int port;
        using (var listener = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp))
        {
            listener.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
            listener.Listen();
            port = ((IPEndPoint)listener.LocalEndPoint!).Port;

            var listed = SockDiag.List(1u << SockDiag.Listen).Where(e => e.Local.Port == port).ToList();

            var entry = Assert.Single(listed);
            Assert.Equal(SockDiag.Listen, entry.State);
            Assert.Equal(IPAddress.IPv6Loopback, entry.Local.Address);
            Assert.NotEqual(0u, entry.Inode);
        }

        Assert.DoesNotContain(SockDiag.List(1u << SockDiag.Listen), e => e.Local.Port == port);
    }

    [Fact]
    public async Task DestroyingTheServerSideOfAConnectionResetsTheClient()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        SocketMark.Set(client, 0x1234); // the tests run as root: marks are set and listed
        await client.ConnectAsync(listener.LocalEndPoint!);
        using var server = await listener.AcceptAsync();

        var established = SockDiag.List(1u << SockDiag.Established);
        var entry = Assert.Single(established, e => e.Local.Port == port);
        Assert.Equal(client.LocalEndPoint, entry.Remote);
        Assert.Equal(0x1234u, Assert.Single(established, e => e.Local.Equals(client.LocalEndPoint)).Mark);

        Assert.Equal(0, SockDiag.Destroy(entry));
        var read = await Assert.ThrowsAsync<SocketException>(async () => await client.ReceiveAsync(new byte[1].AsMemory()).AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(SocketError.ConnectionReset, read.SocketErrorCode);
        Assert.Equal(-2, SockDiag.Destroy(entry)); // ENOENT: gone, and the cookie never names another socket
    }
}
