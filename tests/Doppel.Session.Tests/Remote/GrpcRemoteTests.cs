using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Doppel.Interception.Remote;
using Doppel.Linux.Native;
using Doppel.Session.Agent;
using Doppel.Session.Remote;
using Doppel.Session.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Doppel.Session.Tests.Remote;

/// <summary>
/// GrpcRemote against the real agent serving a runc container pod of a real mini-cluster: what
/// the interception engine asks for arrives in the pod, and an agent that dies makes calls fail
/// instead of hanging, until a new agent on the same socket serves them again.
/// </summary>
public sealed class GrpcRemoteTests(SessionClusterFixture cluster) : IClassFixture<SessionClusterFixture>
{
    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token;

    [Fact]
    public async Task StatListAndReadServeThePodsFiles()
    {
        await using var session = await Session.StartAsync(cluster);

        var entry = await session.Remote.GetEntryAsync("/app/config.json", followSymlinks: true, Timeout);
        var missing = await session.Remote.GetEntryAsync("/app/nothing-here", followSymlinks: true, Timeout);
        var listing = await session.Remote.ListDirectoryAsync("/app/data", Timeout);
        using var content = new MemoryStream();
        await session.Remote.ReadFileAsync("/app/config.json", content, Timeout);

        Assert.NotNull(entry);
        Assert.Equal(("config.json", RemoteEntryKind.File, 18L), (entry.Name, entry.Kind, entry.Size));
        Assert.Null(missing);
        Assert.Equal(["a.txt:1", "b.txt:2"], listing.Select(e => $"{e.Name}:{e.Size}").Order());
        Assert.Equal("{\"from\":\"the pod\"}", Encoding.UTF8.GetString(content.ToArray()));
    }

    [Fact]
    public async Task PosixErrorsArriveAsTheirErrno()
    {
        await using var session = await Session.StartAsync(cluster);

        var notADirectory = await Assert.ThrowsAsync<RemoteFileException>(async () => await session.Remote.ListDirectoryAsync("/app/config.json", Timeout));
        var missingParent = await Assert.ThrowsAsync<RemoteFileException>(async () => await session.Remote.CreateDirectoryAsync("/app/no/such/parent", 0x1ED, Timeout));

        Assert.Equal(20, notADirectory.Errno); // ENOTDIR
        Assert.Equal(2, missingParent.Errno); // ENOENT
    }

    [Fact]
    public async Task WritesAttributesRenamesAndDeletesLandInThePod()
    {
        await using var session = await Session.StartAsync(cluster);
        var mtime = new DateTimeOffset(2024, 5, 6, 7, 8, 9, TimeSpan.Zero);

        await session.Remote.CreateDirectoryAsync("/app/out", 0x1ED, Timeout);
        await session.Remote.WriteFileAsync("/app/out/report.txt", new MemoryStream(Encoding.UTF8.GetBytes("written by the app")), Timeout);
        await session.Remote.SetAttributesAsync("/app/out/report.txt", new RemoteAttributes { Mode = 0x180, LastWriteTime = mtime }, followSymlinks: true, Timeout);
        await session.Remote.RenameAsync("/app/out/report.txt", "/app/out/final.txt", noReplace: false, Timeout);
        await session.Remote.WriteFileAsync("/app/out/scratch", new MemoryStream([1, 2, 3]), Timeout);
        await session.Remote.DeleteAsync("/app/out/scratch", directory: false, Timeout);

        var onHost = cluster.Box.HostPath("/app/out/final.txt");
        Assert.Equal("written by the app", await File.ReadAllTextAsync(onHost, Timeout));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(onHost));
        Assert.Equal(mtime.UtcDateTime, File.GetLastWriteTimeUtc(onHost));
        Assert.False(File.Exists(cluster.Box.HostPath("/app/out/report.txt")));
        Assert.False(File.Exists(cluster.Box.HostPath("/app/out/scratch")));
    }

    [Fact]
    public async Task SymlinksAndHardLinksAreMadeInThePodAndAFileWithTwoNamesIsRewrittenInPlace()
    {
        await using var session = await Session.StartAsync(cluster);
        var dir = "/app/links-" + Guid.NewGuid().ToString("N")[..8];
        await session.Remote.CreateDirectoryAsync(dir, 0x1ED, Timeout);
        try
        {
            await session.Remote.WriteFileAsync(dir + "/a.txt", new MemoryStream("first"u8.ToArray()), Timeout);
            await session.Remote.SymlinkAsync("a.txt", dir + "/s", Timeout);
            await session.Remote.LinkAsync(dir + "/s", dir + "/h", followSymlinks: true, Timeout);
            var exists = await Assert.ThrowsAsync<RemoteFileException>(async () => await session.Remote.SymlinkAsync("b", dir + "/s", Timeout));

            // A whole-file write of one name (a replacement for a file with one name) keeps the other name's inode.
            await session.Remote.WriteFileAsync(dir + "/a.txt", new MemoryStream("second"u8.ToArray()), Timeout);

            Assert.Equal(Errno.EEXIST, exists.Errno);
            Assert.Equal("a.txt", (await session.Remote.GetEntryAsync(dir + "/s", followSymlinks: false, Timeout))!.LinkTarget);
            Assert.Equal("second", await File.ReadAllTextAsync(cluster.Box.HostPath(dir + "/h"), Timeout));
        }
        finally
        {
            Directory.Delete(cluster.Box.HostPath(dir), recursive: true);
        }
    }

    [Fact]
    public async Task TcpThroughTheStandInReachesThePodsEchoAndPassesHalfCloses()
    {
        await using var session = await Session.StartAsync(cluster);

        var standIn = await ConnectEchoAsync(session.Remote);
        Assert.NotNull(standIn);
        Assert.True(IPAddress.IsLoopback(standIn.EndPoint.Address));
        Assert.Equal(cluster.Box.IP, standIn.PodLocalAddress?.Address); // the pod side of the same connection, in the same record
        Assert.Equal("hello pod", await EchoAsync(standIn, "hello pod"));
    }

    /// <summary>
    /// Another local process that reaches a stand-in's port before the app's socket (in the
    /// window between the agent's connect and the app's) is reset, and sees nothing of the pod
    /// connection; the app's socket, admitted after it, is relayed as usual.
    /// </summary>
    [Fact]
    public async Task AnotherLocalProcessAtTheStandInIsResetAndTheAppsConnectionStillWorks()
    {
        await using var session = await Session.StartAsync(cluster);
        var standIn = await ConnectEchoAsync(session.Remote);
        Assert.NotNull(standIn);
        const string Intruder = """
            import socket, sys
            s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
            s.sendall(b"intruder")
            print("connected", flush=True)
            try:
                print("received", s.recv(100), flush=True)
            except ConnectionResetError:
                print("reset", flush=True)
            """;
        using var intruder = Process.Start(new ProcessStartInfo("python3", ["-c", Intruder, standIn.EndPoint.Port.ToString(CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
        })!;
        Assert.Equal("connected", await intruder.StandardOutput.ReadLineAsync(Timeout)); // queued at the stand-in ahead of the app

        Assert.Equal("hello pod", await EchoAsync(standIn, "hello pod"));
        Assert.Equal("reset", await intruder.StandardOutput.ReadLineAsync(Timeout));
        await intruder.WaitForExitAsync(Timeout);
    }

    [Fact]
    public async Task ARefusedDestinationIsRefusedToTheAppWithThePodsErrno()
    {
        await using var session = await Session.StartAsync(cluster);

        var outcome = await session.Remote.ConnectTcpAsync(new IPEndPoint(cluster.Backend.IP, 1), Timeout);

        Assert.Null(outcome.StandIn);
        Assert.Equal(Errno.ECONNREFUSED, outcome.Errno);
    }

    [Fact]
    public async Task UdpRelayAnswersEachAppSocketSeparately()
    {
        await using var session = await Session.StartAsync(cluster);
        var relay = await session.Remote.GetUdpRelayAsync(new IPEndPoint(cluster.Backend.IP, SessionClusterFixture.UdpEchoPort), Timeout);
        Assert.NotNull(relay);
        Assert.Equal(relay, await session.Remote.GetUdpRelayAsync(new IPEndPoint(cluster.Backend.IP, SessionClusterFixture.UdpEchoPort), Timeout));

        using var first = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        using var second = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        first.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        second.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        await first.SendToAsync(Encoding.ASCII.GetBytes("one"), relay, Timeout);
        await second.SendToAsync(Encoding.ASCII.GetBytes("two"), relay, Timeout);

        Assert.Equal(("one", relay), await ReceiveAsync(first));
        Assert.Equal(("two", relay), await ReceiveAsync(second));
    }

    [Fact]
    public async Task AConnectedUdpSocketToAClosedPodPortIsRefusedOnItsOwnStandInWhichKeepsRelaying()
    {
        await using var session = await Session.StartAsync(cluster);
        var closed = new IPEndPoint(cluster.Backend.IP, SessionClusterFixture.UdpEchoPort + 9);
        using var app = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var owned = new OwnUdpSocket(app);
        var standIn = await session.Remote.ConnectUdpAsync(closed, owned, Timeout);
        Assert.NotNull(standIn);
        Assert.NotEqual(standIn, await session.Remote.GetUdpRelayAsync(closed, Timeout));
        await app.ConnectAsync(standIn, Timeout);

        await app.SendAsync(Encoding.ASCII.GetBytes("ping"), Timeout);
        var first = await Assert.ThrowsAsync<SocketException>(async () => await app.ReceiveAsync(new byte[16], Timeout));

        // The app's socket wakes with the error while the stand-in is still unmatched (connected to
        // itself until its witness's answer, at most 50 ms): a datagram sent in that moment is refused
        // on loopback without reaching the pod. Once the stand-in is connected to the app's socket
        // again (/proc/net/udp) it relays again, which is what this checks.
        await WaitUntilUdpConnectedAsync(standIn, (IPEndPoint)app.LocalEndPoint!);
        await app.SendAsync(Encoding.ASCII.GetBytes("ping"), Timeout);
        var second = await Assert.ThrowsAsync<SocketException>(async () => await app.ReceiveAsync(new byte[16], Timeout));

        Assert.Equal(SocketError.ConnectionRefused, first.SocketErrorCode);
        Assert.Equal(SocketError.ConnectionRefused, second.SocketErrorCode);
        Assert.Equal(2, owned.Refusals); // the second datagram went through the stand-in to the pod again
    }

    [Fact]
    public async Task WhenTheAgentDiesCallsFailPromptlyAndANewAgentServesTheNextOnes()
    {
        await using var session = await Session.StartAsync(cluster);
        var standIn = await ConnectEchoAsync(session.Remote);
        using var app = await AppSocket.ConnectAsync(standIn, Timeout);
        await app.SendAsync(Encoding.ASCII.GetBytes("before"), Timeout);
        Assert.Equal("before", await ReceiveExactlyAsync(app, 6));

        await session.Agent.KillAsync();

        // The open connection ends (reset or end of stream) instead of hanging.
        var buffer = new byte[16];
        using var noHang = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var ended = await EndsAsync(app, buffer, noHang.Token);
        Assert.True(ended, "the relayed connection did not end within 10 s of the agent dying");

        // File calls fail with EIO, and new connections are refused, while no agent runs.
        var error = await Assert.ThrowsAsync<RemoteFileException>(async () => await session.Remote.GetEntryAsync("/app/config.json", true, Timeout));
        Assert.Equal(5, error.Errno);
        Assert.Null(await ConnectEchoAsync(session.Remote));

        // A new agent on the same socket: the same GrpcRemote works again.
        await session.Agent.RestartAsync();
        Assert.NotNull(await session.Remote.GetEntryAsync("/app/config.json", true, Timeout));
        var again = await ConnectEchoAsync(session.Remote);
        Assert.Equal("after", await EchoAsync(again, "after"));
    }

    [Fact]
    public async Task APluggedInTransportCarriesTheControlAndRelayConnections()
    {
        await using var agent = await AgentUnderTest.StartAsync($"container/{cluster.Box.ContainerId}");
        var opened = 0;
        async ValueTask<Stream> Connect(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref opened);
            return await agent.Endpoint.ConnectAsync(cancellationToken);
        }

        using var connection = await AgentConnection.ConnectAsync("test transport", Connect, "session-test", "0.1.0", Timeout);
        await using var remote = new GrpcRemote(connection, hostname: null, NullLogger.Instance);
        Assert.Equal(1, opened); // the control connection, for hello

        Assert.NotNull(await remote.GetEntryAsync("/app/config.json", true, Timeout));
        var standIn = await ConnectEchoAsync(remote);
        Assert.Equal("via the plugged transport", await EchoAsync(standIn, "via the plugged transport"));
        Assert.Equal(2, opened); // plus one relay lane
        Assert.Equal("test transport", connection.Address);
    }

    private static async Task<bool> EndsAsync(Socket socket, byte[] buffer, CancellationToken cancellationToken)
    {
        try
        {
            while (await socket.ReceiveAsync(buffer, cancellationToken) > 0)
            {
            }

            return true;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>A TCP connect through <paramref name="remote"/> to the pod-side echo service.</summary>
    private async Task<TcpStandIn?> ConnectEchoAsync(IRemote remote) =>
        (await remote.ConnectTcpAsync(new IPEndPoint(cluster.Backend.IP, SessionClusterFixture.TcpEchoPort), Timeout)).StandIn;

    /// <summary>Sends <paramref name="text"/> through a stand-in of the echo service as the app would, half-closes, and reads the echo to its end.</summary>
    private static async Task<string> EchoAsync(TcpStandIn? standIn, string text)
    {
        using var app = await AppSocket.ConnectAsync(standIn, Timeout);
        await app.SendAsync(Encoding.ASCII.GetBytes(text), Timeout);
        app.Shutdown(SocketShutdown.Send);
        return await ReadToEndAsync(app);
    }

    private static async Task<string> ReadToEndAsync(Socket socket)
    {
        var received = new MemoryStream();
        var buffer = new byte[4096];
        int n;
        while ((n = await socket.ReceiveAsync(buffer, Timeout)) > 0)
        {
            received.Write(buffer, 0, n);
        }

        return Encoding.ASCII.GetString(received.ToArray());
    }

    private static async Task<string> ReceiveExactlyAsync(Socket socket, int count)
    {
        var buffer = new byte[count];
        var read = 0;
        while (read < count)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(read), Timeout);
            Assert.True(n > 0, "the connection ended early");
            read += n;
        }

        return Encoding.ASCII.GetString(buffer);
    }

    /// <summary>Completes once the IPv4 UDP socket bound to <paramref name="local"/> is connected to <paramref name="remote"/> (/proc/net/udp).</summary>
    private static async Task WaitUntilUdpConnectedAsync(IPEndPoint local, IPEndPoint remote)
    {
        static string Hex(IPEndPoint e) => $"{BitConverter.ToUInt32(e.Address.GetAddressBytes()):X8}:{e.Port:X4}";
        var pair = $"{Hex(local)} {Hex(remote)}";
        var timeout = Timeout;
        while (!File.ReadLines("/proc/net/udp").Any(line => line.Contains(pair, StringComparison.Ordinal)))
        {
            await Task.Delay(10, timeout); // polls the state; proves nothing by the time it takes
        }
    }

    private static async Task<(string Text, EndPoint From)> ReceiveAsync(Socket socket)
    {
        var buffer = new byte[1500];
        var result = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), Timeout);
        return (Encoding.ASCII.GetString(buffer, 0, result.ReceivedBytes), result.RemoteEndPoint);
    }

    /// <summary>The test's own socket as the app's connected UDP socket; counts the refusals handed to it.</summary>
    private sealed class OwnUdpSocket(Socket socket) : IConnectedUdpSocket
    {
        private int _refusals;

        public int Refusals => Volatile.Read(ref _refusals);

        public bool IsConnectedTo(IPEndPoint standIn) => standIn.Equals(socket.RemoteEndPoint);

        public bool SendEmpty()
        {
            Interlocked.Increment(ref _refusals);
            return socket.Send(ReadOnlySpan<byte>.Empty) == 0;
        }

        public void Dispose()
        {
        }
    }

    /// <summary>An agent for the container pod and a GrpcRemote connected to it.</summary>
    private sealed class Session : IAsyncDisposable
    {
        private Session(AgentUnderTest agent, AgentConnection connection)
        {
            Agent = agent;
            Connection = connection;
            Remote = new GrpcRemote(connection, hostname: null, NullLogger.Instance);
        }

        public AgentUnderTest Agent { get; }

        public AgentConnection Connection { get; }

        public GrpcRemote Remote { get; }

        public static async Task<Session> StartAsync(SessionClusterFixture cluster)
        {
            var agent = await AgentUnderTest.StartAsync($"container/{cluster.Box.ContainerId}");
            try
            {
                var connection = await AgentConnection.ConnectAsync(agent.Endpoint, "session-test", "0.1.0", Timeout);
                return new Session(agent, connection);
            }
            catch
            {
                await agent.DisposeAsync();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await Remote.DisposeAsync();
            Connection.Dispose();
            await Agent.DisposeAsync();
        }
    }
}
