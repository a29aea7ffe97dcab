using System.Net;
using Doppel.Interception.Policy;
using Doppel.Interception.Tests.Support;

namespace Doppel.Interception.Tests.Network;

public sealed class ListenTests
{
    [Fact]
    public async Task ListeningPortsAreReportedAndAPrivilegedPortCanBeRemapped()
    {
        var policy = new TestPolicy
        {
            Families = SyscallFamilies.Listen,
            PortMap = new Dictionary<int, int> { [80] = 18080 },
        };
        var script = """
            import socket
            a = socket.socket(); a.bind(("127.0.0.1", 80)); a.listen()
            b = socket.socket(socket.AF_INET6); b.bind(("::1", 18181)); b.listen()
            print(a.getsockname()[1], b.getsockname()[1])
            """;

        var result = await Run.IsolatedAsync(Run.Options("python3", "-c", script), policy, new DirectoryRemote("/nonexistent"));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("18080 18181\n", result.Stdout);
        Assert.Equal(
            [(new IPEndPoint(IPAddress.Loopback, 18080), 80), (new IPEndPoint(IPAddress.IPv6Loopback, 18181), 18181)],
            policy.Listening.ToArray());
    }

    [Fact]
    public async Task AMoveOntoATakenPortFailsTheAppsBindWithEaddrinuseAndIsReported()
    {
        var policy = new TestPolicy
        {
            Families = SyscallFamilies.Listen,
            PortMap = new Dictionary<int, int> { [81] = 18090 },
        };
        var script = """
            import socket
            taken = socket.socket(); taken.bind(("127.0.0.1", 18090)); taken.listen()
            moved = socket.socket()
            try:
                moved.bind(("127.0.0.1", 81))
                print("bound")
            except OSError as e:
                print(e.errno)
            """;

        var result = await Run.IsolatedAsync(Run.Options("python3", "-c", script), policy, new DirectoryRemote("/nonexistent"));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("98\n", result.Stdout);
        Assert.Equal([(81, 18090, 98)], policy.BindMovesFailed.ToArray());
    }

    [Fact]
    public async Task AcceptOnADeliveredListenerNamesTheOriginalClientAndEveryOtherAcceptTheRealPeer()
    {
        // The script's own client sockets stand in for the session's relay: bound before connect,
        // so the policy knows them by address, as DeliveredClients does.
        var policy = new TestPolicy
        {
            Families = SyscallFamilies.Listen | SyscallFamilies.Accept,
            DeliveryPorts = new HashSet<int> { 18301 },
            OriginalClients = new Dictionary<IPEndPoint, IPEndPoint>
            {
                [new IPEndPoint(IPAddress.Loopback, 18311)] = new IPEndPoint(IPAddress.Parse("203.0.113.7"), 51000),
                [new IPEndPoint(IPAddress.Loopback, 18312)] = new IPEndPoint(IPAddress.Parse("203.0.113.8"), 51001),
                [new IPEndPoint(IPAddress.Loopback, 18313)] = new IPEndPoint(IPAddress.Parse("203.0.113.9"), 51002),
                [new IPEndPoint(IPAddress.Loopback, 18314)] = new IPEndPoint(IPAddress.Parse("203.0.113.10"), 51003),
                [new IPEndPoint(IPAddress.Loopback, 18316)] = new IPEndPoint(IPAddress.Parse("203.0.113.12"), 51005),
            },
        };
        var script = """
            import ctypes, os, signal, socket, struct, threading, time
            def client(port, to):
                c = socket.socket(); c.bind(("127.0.0.1", port)); c.connect(("127.0.0.1", to)); return c
            delivered = socket.socket(); delivered.bind(("127.0.0.1", 18301)); delivered.listen()
            other = socket.socket(); other.bind(("127.0.0.1", 18302)); other.listen()

            # non-blocking listener: nothing queued is EAGAIN, then the queued delivered connection
            delivered.setblocking(False)
            try:
                delivered.accept(); print("no EAGAIN")
            except BlockingIOError:
                print("EAGAIN")
            keep = [client(18311, 18301)]
            a, peer = delivered.accept()
            print("non-blocking", peer, a.getblocking(), os.get_inheritable(a.fileno()))

            # blocking listener: the connection comes while accept waits (or before; either way the same answer)
            delivered.setblocking(True)
            threading.Thread(target=lambda: (time.sleep(0.2), keep.append(client(18312, 18301)))).start()
            a, peer = delivered.accept()
            print("blocking", peer)

            # accept4 with room for 8 of the 16 bytes: cut to 8, 16 written back; SOCK_NONBLOCK on the new socket
            keep.append(client(18313, 18301))
            libc = ctypes.CDLL(None, use_errno=True)
            room = ctypes.c_uint32(8); buffer = ctypes.create_string_buffer(16)
            fd = libc.accept4(delivered.fileno(), buffer, ctypes.byref(room), os.O_NONBLOCK)
            family, port = struct.unpack("=HH", buffer.raw[:4])
            print("accept4", room.value, family, socket.ntohs(port), socket.inet_ntoa(buffer.raw[4:8]), buffer.raw[8:] == bytes(8), os.get_blocking(fd))

            # a client unknown to the session, and another listener: the real peer
            keep.append(client(18315, 18301))
            print("unknown", delivered.accept()[1])
            keep.append(client(18316, 18302))
            print("other listener", other.accept()[1])

            # a signal while a blocking accept waits: the handler runs and accept is interrupted (no SA_RESTART in Python)
            def alarm(signum, frame): raise TimeoutError("alarm")
            signal.signal(signal.SIGALRM, alarm); signal.setitimer(signal.ITIMER_REAL, 0.3)
            try:
                delivered.accept(); print("not interrupted")
            except TimeoutError:
                print("interrupted")

            # the listener still works after the interruption
            keep.append(client(18314, 18301))
            print("after", delivered.accept()[1])
            """;

        var result = await Run.IsolatedAsync(Run.Options("python3", "-c", script), policy, new DirectoryRemote("/nonexistent"));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(
            """
            EAGAIN
            non-blocking ('203.0.113.7', 51000) True False
            blocking ('203.0.113.8', 51001)
            accept4 16 2 51002 203.0.113.9 True False
            unknown ('127.0.0.1', 18315)
            other listener ('127.0.0.1', 18316)
            interrupted
            after ('203.0.113.10', 51003)

            """,
            result.Stdout);
    }
}
