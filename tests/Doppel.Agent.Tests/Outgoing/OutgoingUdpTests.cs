using System.Net;
using Doppel.Protocol.V1;
using Google.Protobuf;
using Grpc.Core;
using Doppel.Linux.Native;

namespace Doppel.Agent.Tests.Outgoing;

/// <summary>OpenUdp against the real agent and the backend pod's UDP echo.</summary>
public sealed class OutgoingUdpTests(ClusterFixture cluster) : IClassFixture<ClusterFixture>
{

    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token;

    [Fact]
    public async Task UnconnectedFlowEchoesWithThePodsAddressAsPeer()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.ProcessPod.Pid}", 5, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        using var call = new OutgoingService.OutgoingServiceClient(channel).OpenUdp(cancellationToken: Timeout);
        var echo = new IPEndPoint(cluster.Backend.IP, ClusterFixture.UdpEchoPort);

        await call.RequestStream.WriteAsync(new UdpClientMessage { Open = new UdpOpen { Family = IpFamily.V4 } }, Timeout);
        Assert.True(await call.ResponseStream.MoveNext(Timeout));
        var open = call.ResponseStream.Current.OpenResult;
        Assert.Null(open.Error);
        Assert.NotEqual(0u, open.LocalAddress.Port);

        await call.RequestStream.WriteAsync(new UdpClientMessage { Datagram = new UdpDatagram { Peer = SockAddr.FromIPEndPoint(echo), Data = ByteString.CopyFromUtf8("one") } }, Timeout);
        await call.RequestStream.WriteAsync(new UdpClientMessage { Datagram = new UdpDatagram { Peer = SockAddr.FromIPEndPoint(echo), Data = ByteString.CopyFromUtf8("two") } }, Timeout);
        var received = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            Assert.True(await call.ResponseStream.MoveNext(Timeout));
            var datagram = call.ResponseStream.Current.Datagram;
            Assert.Equal(echo, datagram.Peer.ToIPEndPoint());
            received.Add(datagram.Data.ToStringUtf8());
        }

        Assert.Equal(["one", "two"], received.Order());
        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext(Timeout));
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task FlowWithoutAFamilyReportsIpv4PeersAsIpv4()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.ProcessPod.Pid}", 5, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        using var call = new OutgoingService.OutgoingServiceClient(channel).OpenUdp(cancellationToken: Timeout);
        var echo = new IPEndPoint(cluster.Backend.IP, ClusterFixture.UdpEchoPort);

        await call.RequestStream.WriteAsync(new UdpClientMessage { Open = new UdpOpen() }, Timeout);
        Assert.True(await call.ResponseStream.MoveNext(Timeout));
        Assert.Null(call.ResponseStream.Current.OpenResult.Error);

        await call.RequestStream.WriteAsync(new UdpClientMessage { Datagram = new UdpDatagram { Peer = SockAddr.FromIPEndPoint(echo), Data = ByteString.CopyFromUtf8("dual") } }, Timeout);
        Assert.True(await call.ResponseStream.MoveNext(Timeout));
        var datagram = call.ResponseStream.Current.Datagram;
        Assert.Equal(4, datagram.Peer.Ip.Length);
        Assert.Equal(echo, datagram.Peer.ToIPEndPoint());
        Assert.Equal("dual", datagram.Data.ToStringUtf8());
        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext(Timeout));
    }

    [Fact]
    public async Task ConnectedFlowReportsIcmpRefusalAndStaysOpen()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.ProcessPod.Pid}", 5, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        var client = new OutgoingService.OutgoingServiceClient(channel);

        // Nothing listens on the TCP echo's port for UDP: the pod answers with ICMP port unreachable.
        using var call = client.OpenUdp(cancellationToken: Timeout);
        var closed = new IPEndPoint(cluster.Backend.IP, ClusterFixture.TcpEchoPort);
        await call.RequestStream.WriteAsync(new UdpClientMessage { Open = new UdpOpen { Destination = SockAddr.FromIPEndPoint(closed) } }, Timeout);
        Assert.True(await call.ResponseStream.MoveNext(Timeout));
        Assert.Equal(cluster.ProcessPod.IP, call.ResponseStream.Current.OpenResult.LocalAddress.ToIPEndPoint().Address);

        await call.RequestStream.WriteAsync(new UdpClientMessage { Datagram = new UdpDatagram { Data = ByteString.CopyFromUtf8("anyone?") } }, Timeout);
        Assert.True(await call.ResponseStream.MoveNext(Timeout));
        Assert.Equal(Errno.ECONNREFUSED, call.ResponseStream.Current.Error.Errno);

        // Still open: a second datagram gets the same answer.
        await call.RequestStream.WriteAsync(new UdpClientMessage { Datagram = new UdpDatagram { Data = ByteString.CopyFromUtf8("anyone?") } }, Timeout);
        Assert.True(await call.ResponseStream.MoveNext(Timeout));
        Assert.Equal(Errno.ECONNREFUSED, call.ResponseStream.Current.Error.Errno);
        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext(Timeout));
    }
}
