using System.Net;
using Doppel.Agent.Tests.Outgoing;
using Doppel.Protocol.V1;

namespace Doppel.Agent.Tests;

/// <summary>One agent, several sessions at once, and the idle exit once the last one has gone.</summary>
public sealed class ConcurrentSessionsTests(ClusterFixture cluster) : IClassFixture<ClusterFixture>
{
    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token;

    [Fact]
    public async Task TwoSessionsRelayAtOnceAndTheAgentExitsOnlyAfterBothLeft()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.ProcessPod.Pid}", 1, Timeout);
        var echo = new IPEndPoint(cluster.Backend.IP, ClusterFixture.TcpEchoPort);
        var first = AgentProcess.Connect(agent.SocketPath);
        using var second = AgentProcess.Connect(agent.SocketPath);

        // Both sessions hold a connection open at the same time; each gets only its own bytes.
        using (var a = await TcpCall.ConnectAsync(first, echo, Timeout))
        using (var b = await TcpCall.ConnectAsync(second, echo, Timeout))
        {
            await a.SendAsync("from a", Timeout);
            await b.SendAsync("from b", Timeout);
            Assert.Equal("from b", (await b.ReceiveAsync(Timeout, until: "from b")).Text);
            Assert.Equal("from a", (await a.ReceiveAsync(Timeout, until: "from a")).Text);
            await a.HalfCloseAsync(Timeout);
            await b.HalfCloseAsync(Timeout);
            Assert.True((await a.ReceiveAsync(Timeout)).HalfClosed);
            Assert.True((await b.ReceiveAsync(Timeout)).HalfClosed);
        }

        // The first session leaves; the second still works. That the agent stays past its grace
        // while a client is connected is IdleExitTests' to show, on a fake clock.
        first.Dispose();
        var ping = await new AgentService.AgentServiceClient(second).PingAsync(new PingRequest { Sequence = 7 }, cancellationToken: Timeout);
        Assert.Equal(7u, ping.Sequence);

        second.Dispose();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await agent.Process.WaitForExitAsync(deadline.Token);
        Assert.Equal(0, agent.Process.ExitCode);
    }
}
