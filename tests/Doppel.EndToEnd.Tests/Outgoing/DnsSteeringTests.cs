using Doppel.EndToEnd.Tests.Support;

namespace Doppel.EndToEnd.Tests.Outgoing;

/// <summary>
/// Host names in the outgoing filter steer DNS for those names to the same side, and the DNS
/// filter goes by the name asked: a name kept local is answered by the developer's own DNS server
/// (<see cref="DeveloperDns"/>), the others by the cluster's, through the agent.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class DnsSteeringTests(ClusterFixture fixture)
{
    private const string LocalName = "devdb.example.test";
    private const string LocalAddress = "127.0.0.77";

    private string Target => $"pid/{fixture.Bff.Pid}";

    [Fact]
    public async Task AnOutgoingLocalNameIsResolvedByTheDevelopersDnsAndOtherNamesByTheClusters()
    {
        await using var dns = await DeveloperDns.StartAsync(fixture.Cluster.Developer.Name, new Dictionary<string, string> { [LocalName] = LocalAddress });
        var script = NetScript.Write(fixture);
        var config = fixture.WriteFile("dns-outgoing-local.json", $$"""{ "feature": { "network": { "outgoing": { "filter": { "local": ["tcp://{{LocalName}}:5432"] } } } } }""");

        var result = await fixture.ExecAsync(["-t", Target, "-f", config, "--", ClusterFixture.Python, script, $"resolve:{LocalName}", $"resolve:{ClusterFixture.BackendName}"]);

        result.AssertSucceededWith($"resolve {LocalName}: {LocalAddress}\nresolve {ClusterFixture.BackendName}: {fixture.Backend.IP}\n");
        Assert.DoesNotContain("warning", result.Stderr, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task ARemoteListResolvesItsNamesInTheClusterAndEverythingElseLocally()
    {
        await using var dns = await DeveloperDns.StartAsync(fixture.Cluster.Developer.Name, new Dictionary<string, string> { [LocalName] = LocalAddress });
        var script = NetScript.Write(fixture);
        var config = fixture.WriteFile(
            "dns-remote-list.json",
            $$"""{ "feature": { "network": { "outgoing": { "filter": { "remote": ["{{ClusterFixture.BackendName}}"] } }, "dns": { "filter": { "remote": ["{{ClusterFixture.OtherName}}"] } } } } }""");

        var result = await fixture.ExecAsync(
            ["-t", Target, "-f", config, "--", ClusterFixture.Python, script, $"resolve:{ClusterFixture.BackendName}", $"resolve:{ClusterFixture.OtherName}", $"resolve:{LocalName}"]);

        result.AssertSucceededWith(
            $"resolve {ClusterFixture.BackendName}: {fixture.Backend.IP}\nresolve {ClusterFixture.OtherName}: {fixture.Other.IP}\nresolve {LocalName}: {LocalAddress}\n");
    }

    [Fact]
    public async Task ContradictingFiltersAndNamesThatResolveToNothingAreWarnedAbout()
    {
        await using var dns = await DeveloperDns.StartAsync(fixture.Cluster.Developer.Name, new Dictionary<string, string> { [LocalName] = LocalAddress });
        var script = NetScript.Write(fixture);
        var config = fixture.WriteFile(
            "dns-contradiction.json",
            $$"""{ "feature": { "network": { "outgoing": { "filter": { "local": ["{{LocalName}}", "nowhere.example.test:80"] } }, "dns": { "filter": { "remote": ["{{LocalName}}", "ghost.default.svc.cluster.local"] } } } } }""");

        var result = await fixture.ExecAsync(["-t", Target, "-f", config, "--", ClusterFixture.Python, script, $"resolve:{LocalName}"]);

        // The DNS filter wins: the name is asked of the cluster, which does not know it.
        result.AssertSucceededWith($"resolve {LocalName}: not resolved\n");
        Assert.Contains(
            $"feature.network.outgoing.filter sends {LocalName} through the local side, but feature.network.dns.filter resolves it remotely",
            result.Stderr,
            StringComparison.Ordinal);
        Assert.Contains(
            "feature.network.outgoing.filter: 'nowhere.example.test:80' names a host that this machine's resolver does not know, so the entry matches nothing",
            result.Stderr,
            StringComparison.Ordinal);
        Assert.Contains(
            "feature.network.dns.filter: 'ghost.default.svc.cluster.local' names a host that the target's resolver does not know, so the entry matches nothing",
            result.Stderr,
            StringComparison.Ordinal);
    }
}
