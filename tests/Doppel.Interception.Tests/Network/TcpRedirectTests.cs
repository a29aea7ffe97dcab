using System.Net;
using Doppel.Interception.Policy;
using Doppel.Interception.Tests.Support;

namespace Doppel.Interception.Tests.Network;

/// <summary>
/// Remote TCP destinations are documentation addresses that exist nowhere; the program runs in a
/// network namespace with only loopback, so an unredirected connect fails instead of leaving.
/// </summary>
public sealed class TcpRedirectTests
{
    private static readonly IPAddress RemoteV4 = IPAddress.Parse("192.0.2.10");
    private static readonly IPAddress RemoteV6 = IPAddress.Parse("2001:db8::10");
    private static readonly IPAddress Unrouted = IPAddress.Parse("198.51.100.7");

    private static TestPolicy Policy => new()
    {
        Families = SyscallFamilies.Outgoing,
        RemoteAddresses = new HashSet<IPAddress> { RemoteV4, RemoteV6 },
        DeniedAddresses = new HashSet<IPAddress> { IPAddress.Parse("198.51.100.66") },
    };

    [Fact]
    public async Task CurlReachesARemoteIpv4AddressThroughTheLoopbackStandIn()
    {
        using var server = new Holder<LoopbackHttpServer>();
        var remote = new DirectoryRemote("/nonexistent");

        var result = await Run.IsolatedAsync(
            Run.Options("curl", "-sS", "--max-time", "10", "http://192.0.2.10/hello"),
            Policy,
            remote,
            setup: () =>
            {
                server.Value = new LoopbackHttpServer("hello from the pod\n");
                remote.AddService(new IPEndPoint(RemoteV4, 80), server.Value.EndPoint);
            });

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("hello from the pod\n", result.Stdout);
        var (source, destination) = Assert.Single(remote.Connections);
        Assert.Equal(new IPEndPoint(RemoteV4, 80), destination);
        Assert.Equal(source, Assert.Single(server.Value!.Peers));
    }

    [Fact]
    public async Task CurlReachesARemoteIpv6Address()
    {
        using var server = new Holder<LoopbackHttpServer>();
        var remote = new DirectoryRemote("/nonexistent");

        var result = await Run.IsolatedAsync(
            Run.Options("curl", "-sS", "--max-time", "10", "http://[2001:db8::10]:8080/"),
            Policy,
            remote,
            setup: () =>
            {
                server.Value = new LoopbackHttpServer("v6\n");
                remote.AddService(new IPEndPoint(RemoteV6, 8080), server.Value.EndPoint);
            });

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("v6\n", result.Stdout);
    }

    [Fact]
    public async Task CurlReportsTheRemoteAddressAsThePeer()
    {
        using var server = new Holder<LoopbackHttpServer>();
        var remote = new DirectoryRemote("/nonexistent");

        var result = await Run.IsolatedAsync(
            Run.Options("curl", "-sS", "-w", "%{remote_ip}:%{remote_port}", "-o", "/dev/null", "http://192.0.2.10/"),
            Policy,
            remote,
            setup: () =>
            {
                server.Value = new LoopbackHttpServer("x");
                remote.AddService(new IPEndPoint(RemoteV4, 80), server.Value.EndPoint);
            });

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("192.0.2.10:80", result.Stdout);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task PythonConnectsBlockingAndNonBlockingSocketsIncludingV4Mapped(bool blocking)
    {
        using var server = new Holder<LoopbackHttpServer>();
        var remote = new DirectoryRemote("/nonexistent");
        var script = $$"""
            import socket, select, errno
            def fetch(family, address):
                s = socket.socket(family, socket.SOCK_STREAM)
                s.setblocking({{(blocking ? "True" : "False")}})
                rc = s.connect_ex(address)
                if rc == errno.EINPROGRESS:
                    select.select([], [s], [], 10)
                    rc = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                assert rc == 0, rc
                s.setblocking(True)
                peer = s.getpeername()
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                data = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk: break
                    data += chunk
                s.close()
                return peer[0], peer[1], data.split(b"\r\n\r\n", 1)[1].decode()
            print(fetch(socket.AF_INET, ("192.0.2.10", 80)))
            print(fetch(socket.AF_INET6, ("::ffff:192.0.2.10", 80, 0, 0)))
            print(fetch(socket.AF_INET6, ("2001:db8::10", 80, 0, 0)))
            """;

        var result = await Run.IsolatedAsync(
            Run.Options("python3", "-c", script),
            Policy,
            remote,
            setup: () =>
            {
                server.Value = new LoopbackHttpServer("ok");
                remote.AddService(new IPEndPoint(RemoteV4, 80), server.Value.EndPoint);
                remote.AddService(new IPEndPoint(RemoteV6, 80), server.Value.EndPoint);
            });

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(
            "('192.0.2.10', 80, 'ok')\n('::ffff:192.0.2.10', 80, 'ok')\n('2001:db8::10', 80, 'ok')\n",
            result.Stdout);
    }

    [Fact]
    public async Task LocalNameOfARedirectedSocketHasTheRemoteFamilyAndNoLoopbackAddress()
    {
        using var server = new Holder<LoopbackHttpServer>();
        var remote = new DirectoryRemote("/nonexistent");
        var script = """
            import socket
            for family, address in [(socket.AF_INET, ("192.0.2.10", 80)),
                                    (socket.AF_INET6, ("::ffff:192.0.2.10", 80, 0, 0)),
                                    (socket.AF_INET6, ("2001:db8::10", 80, 0, 0))]:
                s = socket.socket(family, socket.SOCK_STREAM)
                s.connect(address)
                name = s.getsockname()
                print(s.family.name, name[0], name[1])
                s.close()
            """;

        var result = await Run.IsolatedAsync(Run.Options("python3", "-c", script), Policy, remote, setup: () =>
        {
            server.Value = new LoopbackHttpServer("x");
            remote.AddService(new IPEndPoint(RemoteV4, 80), server.Value.EndPoint);
            remote.AddService(new IPEndPoint(RemoteV6, 80), server.Value.EndPoint);
        });

        Assert.True(result.ExitCode == 0, result.ToString());
        var ports = remote.Connections.Select(c => c.Source.Port).ToArray();
        Assert.Equal(3, ports.Length);
        Assert.Equal(
            $"AF_INET 0.0.0.0 {ports[0]}\nAF_INET6 ::ffff:0.0.0.0 {ports[1]}\nAF_INET6 :: {ports[2]}\n",
            result.Stdout);
    }

    [Fact]
    public async Task LocalDestinationIsNotRedirectedAndHasNoRouteInTheTestNamespace()
    {
        var result = await Run.IsolatedAsync(
            Run.Options("python3", "-c", "import socket; print(socket.socket().connect_ex(('198.51.100.7', 80)))"),
            Policy,
            new DirectoryRemote("/nonexistent"));

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("101\n", result.Stdout); // ENETUNREACH: proof that nothing leaves unredirected
        _ = Unrouted;
    }

    [Fact]
    public async Task DeniedDestinationFailsWithoutAConnectAttempt()
    {
        var result = await Run.IsolatedAsync(
            Run.Options("python3", "-c", "import socket; print(socket.socket().connect_ex(('198.51.100.66', 80)))"),
            Policy,
            new DirectoryRemote("/nonexistent"));

        Assert.Equal("101\n", result.Stdout);
        Assert.True(result.Statistics!.Answered >= 1);
    }

    [Fact]
    public async Task RemoteWithoutAServiceRefusesTheConnection()
    {
        var result = await Run.IsolatedAsync(
            Run.Options("python3", "-c", "import socket; print(socket.socket().connect_ex(('192.0.2.10', 81)))"),
            Policy,
            new DirectoryRemote("/nonexistent"));

        Assert.Equal("111\n", result.Stdout); // ECONNREFUSED
    }

    [Fact]
    public async Task TcpFastOpenSendtoIsRedirectedLikeAConnect()
    {
        using var server = new Holder<LoopbackHttpServer>();
        var remote = new DirectoryRemote("/nonexistent");
        var script = """
            import socket
            s = socket.socket()
            print(s.sendto(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", socket.MSG_FASTOPEN, ("192.0.2.10", 80)))
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk: break
                data += chunk
            print(data.split(b"\r\n\r\n", 1)[1].decode(), s.getpeername())
            """;

        var result = await Run.IsolatedAsync(Run.Options("python3", "-c", script), Policy, remote, setup: () =>
        {
            server.Value = new LoopbackHttpServer("fast");
            remote.AddService(new IPEndPoint(RemoteV4, 80), server.Value.EndPoint);
        });

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("27\nfast ('192.0.2.10', 80)\n", result.Stdout);
    }

    [Fact]
    public async Task IoUringIsRefusedSoNothingBypassesTheFilter()
    {
        var script = """
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            params = ctypes.create_string_buffer(120)
            print(libc.syscall(425, 8, params), ctypes.get_errno())
            """;

        var result = await Run.IsolatedAsync(Run.Options("python3", "-c", script), Policy, new DirectoryRemote("/nonexistent"));

        Assert.Equal("-1 38\n", result.Stdout);
    }
}
