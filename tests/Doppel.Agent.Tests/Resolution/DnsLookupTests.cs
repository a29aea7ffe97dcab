using System.Net;
using Doppel.Protocol.V1;
using Doppel.Testing;

namespace Doppel.Agent.Tests.Resolution;

/// <summary>DnsService.Lookup through the pods' resolv.conf (search line, ndots:5), hosts and the cluster DNS.</summary>
public sealed class DnsLookupTests(ClusterFixture cluster) : IClassFixture<ClusterFixture>
{
    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token;

    [Theory]
    [InlineData("backend.default.svc.cluster.local")]
    [InlineData("backend")]
    [InlineData("backend.default")]
    [InlineData("backend.default.svc.cluster.local.")]
    public async Task ServiceNamesResolveToThePodIp(string name)
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.ProcessPod.Pid}", 5, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);

        var response = await LookupAsync(channel, name, IpFamily.Unspecified);

        Assert.Equal(DnsLookupStatus.Ok, response.Status);
        Assert.Equal(cluster.Backend.IP, new IPAddress(Assert.Single(response.Addresses).Span));
        Assert.Equal(MiniCluster.ServiceFqdn("backend"), response.CanonicalName);
    }

    [Fact]
    public async Task ContainerTargetResolvesThroughItsOwnResolvConf()
    {
        await using var agent = await AgentProcess.StartAsync($"container/{cluster.ContainerPod.ContainerId}", 5, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);

        var response = await LookupAsync(channel, "backend", IpFamily.V4);

        Assert.Equal(DnsLookupStatus.Ok, response.Status);
        Assert.Equal(cluster.Backend.IP, new IPAddress(Assert.Single(response.Addresses).Span));
    }

    [Fact]
    public async Task UnknownNameIsNotFoundAndAnIpv6QuestionForAnIpv4ServiceIsNoData()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.ProcessPod.Pid}", 5, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);

        var missing = await LookupAsync(channel, "no-such-service", IpFamily.Unspecified);
        Assert.Equal(DnsLookupStatus.NotFound, missing.Status);
        Assert.Empty(missing.Addresses);
        Assert.NotEmpty(missing.Message);

        var ipv6 = await LookupAsync(channel, "backend", IpFamily.V6);
        Assert.Equal(DnsLookupStatus.NoData, ipv6.Status);
    }

    [Fact]
    public async Task HostsFileComesFirst()
    {
        await using var agent = await AgentProcess.StartAsync($"pid/{cluster.ProcessPod.Pid}", 5, Timeout);
        using var channel = AgentProcess.Connect(agent.SocketPath);

        // The pod's own name is only in its /etc/hosts (the cluster DNS has no record "web").
        var own = await LookupAsync(channel, "web", IpFamily.V4);
        Assert.Equal(DnsLookupStatus.Ok, own.Status);
        Assert.Equal(cluster.ProcessPod.IP, new IPAddress(Assert.Single(own.Addresses).Span));
        Assert.Equal("web", own.CanonicalName); // the DNS would have said web.default.svc.cluster.local

        var localhost = await LookupAsync(channel, "localhost", IpFamily.Unspecified);
        Assert.Equal([IPAddress.Loopback, IPAddress.IPv6Loopback], localhost.Addresses.Select(a => new IPAddress(a.Span)));
    }

    private static Task<DnsLookupResponse> LookupAsync(Grpc.Net.Client.GrpcChannel channel, string name, IpFamily family) =>
        new DnsService.DnsServiceClient(channel).LookupAsync(new DnsLookupRequest { Name = name, Family = family }, cancellationToken: Timeout).ResponseAsync;
}
