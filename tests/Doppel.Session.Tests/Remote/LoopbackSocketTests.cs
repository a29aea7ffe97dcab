using System.Net;
using System.Net.Sockets;
using Doppel.Session.Remote;

namespace Doppel.Session.Tests.Remote;

public sealed class LoopbackSocketTests
{
    private const int Attempts = 200;

    [Fact]
    public void AListenThatFailsClosesTheSocket()
    {
        // listen(2) on a UDP socket fails (EOPNOTSUPP) after socket and bind succeeded. The
        // collector is held off, so a leaked socket would stay open (no finalizer closes it):
        // Attempts leaks would show as that many more socket fds in this process.
        var before = SocketFds();
        Assert.True(GC.TryStartNoGCRegion(16 * 1024 * 1024));
        try
        {
            for (var i = 0; i < Attempts; i++)
            {
                Assert.Throws<SocketException>(() => LoopbackSocket.Bind(SocketType.Dgram, ProtocolType.Udp, backlog: 1));
            }

            // Other tests of this assembly may open a few sockets meanwhile; not Attempts / 2.
            Assert.InRange(SocketFds() - before, int.MinValue, Attempts / 2);
        }
        finally
        {
            GC.EndNoGCRegion();
        }
    }

    [Fact]
    public void AListeningStandInIsOnLoopback()
    {
        using var socket = LoopbackSocket.Bind(SocketType.Stream, ProtocolType.Tcp, backlog: 1);

        var local = Assert.IsType<IPEndPoint>(socket.LocalEndPoint);
        Assert.Equal(IPAddress.Loopback, local.Address);
        Assert.NotEqual(0, local.Port);
        Assert.True(socket.IsBound);
    }

    private static int SocketFds() => Directory.EnumerateFileSystemEntries("/proc/self/fd").Count(IsSocket);

    // /proc/self/fd/N → "socket:[INODE]"; an fd closed meanwhile is not one.
    private static bool IsSocket(string fd)
    {
        try
        {
            return new FileInfo(fd).LinkTarget?.StartsWith("socket:[", StringComparison.Ordinal) == true;
        }
        catch (IOException)
        {
            return false;
        }
    }
}
