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

    /// <summary>A Python function <c>get(s)</c>: an HTTP GET on the connected socket <c>s</c>; returns the body.</summary>
    private const string PythonGet = """
        def get(s):
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk: break
                data += chunk
            return data.split(b"\r\n\r\n", 1)[1].decode()
        """;

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

    /// <summary>
    /// A remote connect that outlasts the program's first polls (300 ms, as a slow agent or a
    /// port-forward takes): the socket waits at the holding listener and is completed there by
    /// simultaneous open. curl takes any EPOLLHUP/EPOLLERR seen while connecting for a failure.
    /// </summary>
    [Fact]
    public async Task CurlConnectsThroughASlowRemoteConnect()
    {
        using var server = new Holder<LoopbackHttpServer>();
        var remote = new DirectoryRemote("/nonexistent") { TcpConnectDelay = TimeSpan.FromMilliseconds(300) };

        var result = await Run.IsolatedAsync(
            Run.Options("sh", "-c", "for i in 1 2 3; do curl -sS --max-time 10 http://192.0.2.10/slow || exit 1; done"),
            Policy,
            remote,
            setup: () =>
            {
                server.Value = new LoopbackHttpServer("slow\n");
                remote.AddService(new IPEndPoint(RemoteV4, 80), server.Value.EndPoint);
            });

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("slow\nslow\nslow\n", result.Stdout);
    }

    /// <summary>
    /// An epoll loop sees a slow remote connect (300 ms) end with EPOLLOUT alone, every bit it is
    /// shown checked (no EPOLLHUP or EPOLLERR at any moment), for IPv4 and IPv4-mapped sockets; the
    /// socket was never disconnected and reconnected: the stand-in's peer is the supervisor's
    /// relaying socket, not the app's socket (which the old switch connected to the stand-in).
    /// </summary>
    [Fact]
    public async Task EpollLoopSeesOnlyWritableThroughASlowRemoteConnect()
    {
        using var server = new Holder<LoopbackHttpServer>();
        var remote = new DirectoryRemote("/nonexistent") { TcpConnectDelay = TimeSpan.FromMilliseconds(300) };
        var script = $$"""
            import socket, select, errno
            {{PythonGet}}
            def fetch(family, address):
                s = socket.socket(family, socket.SOCK_STREAM)
                s.setblocking(False)
                assert s.connect_ex(address) == errno.EINPROGRESS
                ep = select.epoll()
                ep.register(s.fileno(), select.EPOLLOUT)
                seen = set()
                while True:
                    events = ep.poll(0.005)
                    for _, mask in events:
                        seen.add(mask)
                    if events:
                        break
                for _ in range(1000):  # and again at once, as curl does
                    for _, mask in ep.poll(0):
                        seen.add(mask)
                assert seen == {select.EPOLLOUT}, seen
                assert s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
                peer = s.getpeername()
                s.setblocking(True)
                body = get(s)
                port = s.getsockname()[1]
                s.close()
                return peer[0], peer[1], port, body
            for family, address in [(socket.AF_INET, ("192.0.2.10", 80)), (socket.AF_INET6, ("::ffff:192.0.2.10", 80, 0, 0))]:
                print(*fetch(family, address))
            """;

        var result = await Run.IsolatedAsync(Run.Options("python3", "-c", script), Policy, remote, setup: () =>
        {
            server.Value = new LoopbackHttpServer("ok");
            remote.AddService(new IPEndPoint(RemoteV4, 80), server.Value.EndPoint);
        });

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("192.0.2.10 80 ", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("::ffff:192.0.2.10 80 ", lines[1], StringComparison.Ordinal);
        Assert.All(lines, line => Assert.EndsWith(" ok", line, StringComparison.Ordinal));
        var appPorts = lines.Select(line => int.Parse(line.Split(' ')[2], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var relayed = remote.Connections.Select(c => c.Source).ToArray();
        Assert.Equal(2, relayed.Length);
        Assert.Equal(relayed.OrderBy(p => p.Port), server.Value!.Peers.OrderBy(p => p.Port));
        Assert.DoesNotContain(relayed, source => appPorts.Contains(source.Port));
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
            {{PythonGet}}
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
                body = get(s)
                s.close()
                return peer[0], peer[1], body
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

    /// <summary>
    /// getsockname and getpeername of a relayed socket give the pod-side address that came with
    /// its stand-in, and the destination: for a blocking connect (the app's socket connected to
    /// the stand-in) and for a non-blocking one completed at the holding listener (relayed there),
    /// with the stand-in's peer the socket the engine admitted in either case.
    /// </summary>
    [Fact]
    public async Task ARelayedSocketNamesThePodAddressAndTheDestinationOnBothConnectPaths()
    {
        using var server = new Holder<LoopbackHttpServer>();
        var remote = new DirectoryRemote("/nonexistent")
        {
            TcpConnectDelay = TimeSpan.FromMilliseconds(300),
            PodLocalAddress = new IPEndPoint(IPAddress.Parse("10.244.0.7"), 41000),
        };
        var script = $$"""
            import socket, select, errno
            {{PythonGet}}
            for blocking in (True, False):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                if blocking:
                    s.connect(("192.0.2.10", 80))
                else:
                    s.setblocking(False)
                    assert s.connect_ex(("192.0.2.10", 80)) == errno.EINPROGRESS
                    select.select([], [s], [], 10)
                    assert s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
                    s.setblocking(True)
                print(blocking, *s.getsockname(), *s.getpeername(), get(s))
                s.close()
            """;

        var result = await Run.IsolatedAsync(Run.Options("python3", "-c", script), Policy, remote, setup: () =>
        {
            server.Value = new LoopbackHttpServer("ok");
            remote.AddService(new IPEndPoint(RemoteV4, 80), server.Value.EndPoint);
        });

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("True 10.244.0.7 41000 192.0.2.10 80 ok\nFalse 10.244.0.7 41000 192.0.2.10 80 ok\n", result.Stdout);
        Assert.Equal(remote.Connections.Select(c => c.Source).OrderBy(p => p.Port), server.Value!.Peers.OrderBy(p => p.Port));
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
