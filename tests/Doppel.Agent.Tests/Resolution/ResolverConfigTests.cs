using System.Net;
using Doppel.Agent.Resolution;

namespace Doppel.Agent.Tests.Resolution;

/// <summary>resolv.conf parsing and the order of names res_search tries.</summary>
public sealed class ResolverConfigTests
{
    [Fact]
    public void ParsesNameserversSearchAndOptionsLikeGlibc()
    {
        var config = ResolverConfig.Parse("""
            # comment
            domain ignored.example
            search default.svc.cluster.local svc.cluster.local cluster.local
            nameserver 10.96.0.10
            nameserver fd00::10
            nameserver not-an-address
            nameserver 10.96.0.11
            nameserver 10.96.0.12
            options ndots:5 timeout:3 attempts:9 rotate
            """);

        Assert.Equal(
            [new IPEndPoint(IPAddress.Parse("10.96.0.10"), 53), new IPEndPoint(IPAddress.Parse("fd00::10"), 53), new IPEndPoint(IPAddress.Parse("10.96.0.11"), 53)],
            config.Nameservers);
        Assert.Equal(["default.svc.cluster.local", "svc.cluster.local", "cluster.local"], config.Search);
        Assert.Equal(5, config.Ndots);
        Assert.Equal(TimeSpan.FromSeconds(3), config.Timeout);
        Assert.Equal(5, config.Attempts);
    }

    [Fact]
    public void MissingFileMeansLocalhostAndDefaults()
    {
        var config = ResolverConfig.Parse(null);

        Assert.Equal([new IPEndPoint(IPAddress.Loopback, 53)], config.Nameservers);
        Assert.Empty(config.Search);
        Assert.Equal(1, config.Ndots);
        Assert.Equal(TimeSpan.FromSeconds(5), config.Timeout);
        Assert.Equal(2, config.Attempts);
    }

    [Theory]
    [InlineData("db", 5, "db.ns.svc.cluster.local|db.svc.cluster.local|db")]
    [InlineData("db.other", 5, "db.other.ns.svc.cluster.local|db.other.svc.cluster.local|db.other")]
    [InlineData("example.com", 1, "example.com|example.com.ns.svc.cluster.local|example.com.svc.cluster.local")]
    [InlineData("example.com.", 1, "example.com")]
    public void CandidatesFollowNdots(string name, int ndots, string expected)
    {
        var config = new ResolverConfig { Search = ["ns.svc.cluster.local", "svc.cluster.local."], Ndots = ndots };

        Assert.Equal(expected.Split('|'), DnsResolver.Candidates(name, config));
    }
}
