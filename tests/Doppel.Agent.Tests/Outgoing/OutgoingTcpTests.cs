using System.Net;
using Grpc.Core;
using Doppel.Linux.Native;

namespace Doppel.Agent.Tests.Outgoing;

/// <summary>
/// ConnectTcp against the real agent. The agent runs in the host's namespace; the connection's
/// local address being the target pod's IP shows it left from the target's namespace.
/// </summary>
public sealed class OutgoingTcpTests(ClusterFixture cluster) : IClassFixture<ClusterFixture>
{

    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token;

    [Fact]
    public async Task TcpToAPodsHttpServerReturnsTheRealResponseAndLeavesFromTheTargetsAddress()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.ProcessPod.Pid}", 5, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);

        using var call = await TcpCall.ConnectAsync(channel, new IPEndPoint(cluster.Backend.IP, ClusterFixture.HttpPort), Timeout);
        Assert.Null(call.Result.Error);
        Assert.Equal(cluster.ProcessPod.IP, call.Result.LocalAddress.ToIPEndPoint().Address);
        Assert.Equal(new IPEndPoint(cluster.Backend.IP, ClusterFixture.HttpPort), call.Result.RemoteAddress.ToIPEndPoint());

        await call.SendAsync("GET / HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n", Timeout);
        await call.HalfCloseAsync(Timeout);
        var (response, halfClosed) = await call.ReceiveAsync(Timeout);

        Assert.True(halfClosed);
        Assert.StartsWith("HTTP/1.1 200", response, StringComparison.Ordinal);
        Assert.Contains("X-Pod: backend", response, StringComparison.Ordinal);
        Assert.EndsWith("hello from backend\n", response, StringComparison.Ordinal);
        Assert.Equal(StatusCode.OK, await call.FinishAsync(Timeout));
    }

    [Fact]
    public async Task HalfCloseFromTheSessionLetsThePodFinishSending()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.ProcessPod.Pid}", 5, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        using var call = await TcpCall.ConnectAsync(channel, new IPEndPoint(cluster.Backend.IP, ClusterFixture.TcpEchoPort), Timeout);
        Assert.Null(call.Result.Error);

        // The echo still answers after our FIN: only our direction is closed.
        await call.SendAsync("ping ", Timeout);
        Assert.Equal(("ping ", false), await call.ReceiveAsync(Timeout, until: "ping "));
        await call.SendAsync("last words", Timeout);
        await call.HalfCloseAsync(Timeout);
        var (rest, halfClosed) = await call.ReceiveAsync(Timeout);

        Assert.Equal("last words", rest);
        Assert.True(halfClosed);
        Assert.Equal(StatusCode.OK, await call.FinishAsync(Timeout));
    }

    [Fact]
    public async Task ConnectToAClosedPortAnswersEconnrefused()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.ProcessPod.Pid}", 5, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);

        using var call = await TcpCall.ConnectAsync(channel, new IPEndPoint(cluster.Backend.IP, 1), Timeout);

        Assert.Equal(Errno.ECONNREFUSED, call.Result.Error.Errno);
        Assert.Null(call.Result.LocalAddress);
        Assert.Equal(StatusCode.OK, await call.FinishAsync(Timeout));
    }

    [Fact]
    public async Task ConnectToAnAddressThatNeverAnswersTimesOutWithEtimedout()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.ProcessPod.Pid}", 5, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);

        // No pod has this address of the cluster's bridge: the SYN is never answered (ARP fails).
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var call = await TcpCall.ConnectAsync(channel, new IPEndPoint(IPAddress.Parse("10.244.0.250"), 80), Timeout, timeoutMs: 400);

        Assert.Equal(Errno.ETIMEDOUT, call.Result.Error.Errno);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(350), TimeSpan.FromSeconds(10)); // ARP failing would have said EHOSTUNREACH after ~3 s
    }

    [Fact]
    public async Task ContainerTargetConnectsFromTheContainersNamespace()
    {
        await using var agent = await AgentProcess.StartAsync($"container/{cluster.ContainerPod.ContainerId}", 5, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);

        using var call = await TcpCall.ConnectAsync(channel, new IPEndPoint(cluster.Backend.IP, ClusterFixture.HttpPort), Timeout);
        Assert.Null(call.Result.Error);
        Assert.Equal(cluster.ContainerPod.IP, call.Result.LocalAddress.ToIPEndPoint().Address);

        await call.SendAsync("GET / HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n", Timeout);
        await call.HalfCloseAsync(Timeout);
        Assert.EndsWith("hello from backend\n", (await call.ReceiveAsync(Timeout)).Text, StringComparison.Ordinal);
    }
}
