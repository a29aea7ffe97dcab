using System.Net;
using System.Net.Sockets;
using System.Text;
using Doppel.Session.Agent;
using Doppel.Session.Remote;
using Doppel.Session.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Doppel.Session.Tests.Remote;

/// <summary>
/// Every relay task has an owner: a UDP flow stuck on its call does not hold the stand-in's other
/// flows, and disposing the remote with flows and connections in flight ends every task. The
/// stuck flow is made with a transport whose first relay connection waits on a gate the test
/// holds shut: the flow's open cannot leave until the gate opens.
/// </summary>
public sealed class FlowOwnershipTests(SessionClusterFixture cluster) : IClassFixture<SessionClusterFixture>
{
    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token;

    [Fact]
    public async Task AUdpFlowStuckOnItsCallDoesNotHoldAnotherFlowsReply()
    {
        await using var agent = await AgentUnderTest.StartAsync($"container/{cluster.Box.ContainerId}");
        await using var transport = new GatedTransport(agent.Endpoint, gatedConnection: 2); // 1: control, 2: the first relay lane
        using var connection = await AgentConnection.ConnectAsync(transport, "session-test", "0.1.0", Timeout);
        await using var remote = new GrpcRemote(connection, hostname: null, NullLogger.Instance);
        var relay = await remote.GetUdpRelayAsync(new IPEndPoint(cluster.Backend.IP, SessionClusterFixture.UdpEchoPort), Timeout);

        using var stuck = Bound();
        using var other = Bound();
        await stuck.SendToAsync(Encoding.ASCII.GetBytes("stuck"), relay!, Timeout);
        await transport.Held.WaitAsync(Timeout); // flow A's open is waiting for its lane's connection
        await other.SendToAsync(Encoding.ASCII.GetBytes("other"), relay!, Timeout);

        var reply = await ReceiveAsync(other);

        Assert.Equal("other", reply);
        Assert.False(transport.Released, "the gate was opened before flow B's reply came");
    }

    [Fact]
    public async Task DisposingTheRemoteWithFlowsAndConnectionsInFlightEndsEveryTask()
    {
        await using var agent = await AgentUnderTest.StartAsync($"container/{cluster.Box.ContainerId}");
        await using var transport = new GatedTransport(agent.Endpoint, gatedConnection: 2);
        using var connection = await AgentConnection.ConnectAsync(transport, "session-test", "0.1.0", Timeout);
        var remote = new GrpcRemote(connection, hostname: null, NullLogger.Instance);
        var udp = await remote.GetUdpRelayAsync(new IPEndPoint(cluster.Backend.IP, SessionClusterFixture.UdpEchoPort), Timeout);
        using var stuck = Bound();
        using var flowing = Bound();
        await stuck.SendToAsync(Encoding.ASCII.GetBytes("stuck"), udp!, Timeout);
        await transport.Held.WaitAsync(Timeout);
        await flowing.SendToAsync(Encoding.ASCII.GetBytes("flowing"), udp!, Timeout);
        Assert.Equal("flowing", await ReceiveAsync(flowing));
        var standIn = (await remote.ConnectTcpAsync(new IPEndPoint(cluster.Backend.IP, SessionClusterFixture.TcpEchoPort), Timeout)).StandIn;
        using var app = await AppSocket.ConnectAsync(standIn, Timeout);
        await app.SendAsync(Encoding.ASCII.GetBytes("open"), Timeout);
        Assert.True(remote.RunningTasks >= 4, $"expected the stand-in loop, two flows and a TCP relay running, found {remote.RunningTasks}");

        await remote.DisposeAsync().AsTask().WaitAsync(Timeout);

        Assert.Equal(0, remote.RunningTasks);
    }

    [Fact]
    public async Task AUdpFlowIdleForTheTimeoutIsClosedAndTheNextDatagramOpensANewOne()
    {
        await using var agent = await AgentUnderTest.StartAsync($"container/{cluster.Box.ContainerId}");
        using var connection = await AgentConnection.ConnectAsync(agent.Endpoint, "session-test", "0.1.0", Timeout);
        var time = new FakeTimeProvider();
        await using var remote = new GrpcRemote(connection, hostname: null, NullLogger.Instance, time: time);
        var relay = await remote.GetUdpRelayAsync(new IPEndPoint(cluster.Backend.IP, SessionClusterFixture.UdpEchoPort), Timeout);
        using var app = Bound();
        await app.SendToAsync(Encoding.ASCII.GetBytes("one"), relay!, Timeout);
        Assert.Equal("one", await ReceiveAsync(app));
        Assert.Equal(2, remote.RunningTasks); // the stand-in's receive loop and the flow

        // Sweeps run every quarter of the timeout; the one at exactly the timeout keeps the flow.
        time.Advance(UdpRelay.IdleTimeout);
        Assert.Equal(2, remote.RunningTasks);
        time.Advance(UdpRelay.IdleTimeout / 4);
        await WaitUntilAsync(() => remote.RunningTasks == 1); // the flow's tasks end once it is closed

        await app.SendToAsync(Encoding.ASCII.GetBytes("two"), relay!, Timeout);
        Assert.Equal("two", await ReceiveAsync(app));
        Assert.Equal(2, remote.RunningTasks);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var timeout = Timeout;
        while (!condition())
        {
            await Task.Delay(10, timeout); // polls the state; proves nothing by the time it takes
        }
    }

    private static Socket Bound()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }

    private static async Task<string> ReceiveAsync(Socket socket)
    {
        var buffer = new byte[1500];
        var result = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), Timeout);
        return Encoding.ASCII.GetString(buffer, 0, result.ReceivedBytes);
    }

    /// <summary>The agent's socket, except that the Nth connection waits until the transport is disposed.</summary>
    private sealed class GatedTransport(AgentEndpoint endpoint, int gatedConnection) : IAgentTransport, IAsyncDisposable
    {
        private readonly TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _opened;

        public string Address => "gated " + endpoint.Address;

        /// <summary>Completes when the gated connection is waiting.</summary>
        public Task Held => _held.Task;

        public bool Released => _gate.Task.IsCompleted;

        public async ValueTask<Stream> ConnectAsync(CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _opened) == gatedConnection)
            {
                // Deaf to the handler's 5 s connect timeout on purpose: the flow waits as long as the test wants.
                _held.TrySetResult();
                await _gate.Task;
            }

            return await endpoint.ConnectAsync(cancellationToken);
        }

        public ValueTask DisposeAsync()
        {
            _gate.TrySetResult();
            return ValueTask.CompletedTask;
        }
    }
}
