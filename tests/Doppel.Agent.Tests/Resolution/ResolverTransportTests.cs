using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Doppel.Linux.Namespaces;
using Doppel.Protocol.V1;

namespace Doppel.Agent.Tests.Resolution;

/// <summary>
/// A targetless agent in a namespace of the test's own, with a nameserver on that namespace's
/// loopback that misbehaves: one never answers (TEMPORARY_FAILURE after resolv.conf's timeout ×
/// attempts), one truncates every UDP answer (the question is asked again over TCP).
/// </summary>
public sealed class ResolverTransportTests
{
    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token;

    [Fact]
    public async Task SilentNameserverGivesTemporaryFailureAfterTheConfiguredTimeout()
    {
        using var scratch = await ScratchNamespace.CreateAsync(
            new Dictionary<string, string>
            {
                ["resolv.conf"] = "search example.internal\nnameserver 127.0.0.1\noptions timeout:1 attempts:2 ndots:1\n",
                ["hostname"] = "elsewhere\n",
            },
            Timeout);

        // A socket on the namespace's port 53 that reads nothing: queries are neither answered nor refused.
        using var inNamespace = NetworkNamespaceThread.Start($"/run/netns/{scratch.Name}", "test-netns");
        using var silent = await inNamespace.RunAsync(() => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 53));

        await using var agent = await AgentProcess.StartAsync("targetless", 5, Timeout, ["--netns", scratch.Name]);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        var hostname = await new HostnameService.HostnameServiceClient(channel).GetHostnameAsync(new GetHostnameRequest(), cancellationToken: Timeout);
        Assert.Equal("elsewhere", hostname.Hostname);

        var clock = Stopwatch.StartNew();
        var response = await new DnsService.DnsServiceClient(channel).LookupAsync(new DnsLookupRequest { Name = "db", Family = IpFamily.V4 }, cancellationToken: Timeout);

        Assert.Equal(DnsLookupStatus.TemporaryFailure, response.Status);
        Assert.Contains("127.0.0.1", response.Message, StringComparison.Ordinal);
        // One candidate (db.example.internal), two attempts of one second; the search stops there.
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1.8), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task TruncatedUdpAnswerIsAskedAgainOverTcp()
    {
        using var scratch = await ScratchNamespace.CreateAsync(
            new Dictionary<string, string> { ["resolv.conf"] = "nameserver 127.0.0.1\noptions timeout:2\n" },
            Timeout);
        using var inNamespace = NetworkNamespaceThread.Start($"/run/netns/{scratch.Name}", "test-netns");
        var documentation = IPAddress.Parse("198.51.100.7"); // only ever returned, never contacted
        using var server = await FakeDnsServer.StartAsync(inNamespace, documentation);

        await using var agent = await AgentProcess.StartAsync("targetless", 5, Timeout, ["--netns", scratch.Name]);
        using var channel = AgentProcess.Connect(agent.SocketPath);
        var response = await new DnsService.DnsServiceClient(channel).LookupAsync(new DnsLookupRequest { Name = "big.example.", Family = IpFamily.V4 }, cancellationToken: Timeout);

        Assert.Equal(DnsLookupStatus.Ok, response.Status);
        Assert.Equal(documentation, new IPAddress(Assert.Single(response.Addresses).Span));
        Assert.Equal("big.example", response.CanonicalName);
        Assert.Equal(1, server.UdpQuestions);
        Assert.Equal(1, server.TcpQuestions);
    }
}
