using System.Net;
using Doppel.Config;
using Doppel.Protocol.V1;
using Doppel.Session.Incoming;

namespace Doppel.Session.Tests.Incoming;

/// <summary>
/// Which listener becomes which subscription: <c>port_mapping</c>, <c>listen_ports</c>,
/// <c>ports</c>/<c>ignore_ports</c>, <c>ignore_localhost</c>, <c>http_filter.ports</c>, from
/// configurations loaded as the CLI loads them.
/// </summary>
public sealed class IncomingPortTests
{
    private static IncomingConfig Load(string incoming)
    {
        var dir = Directory.CreateTempSubdirectory("doppel-incoming-");
        try
        {
            var file = Path.Combine(dir.FullName, "mirrord.json");
            File.WriteAllText(file, "{\"feature\": {\"network\": {\"incoming\": " + incoming + "}}}");
            return ConfigLoader.Load(new ConfigLoadOptions { ConfigFile = file, Environment = _ => null, WorkingDirectory = dir.FullName, TargetChosenLater = true })
                .Config.Feature.Network.Incoming;
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static IPEndPoint At(string address, int port) => new(IPAddress.Parse(address), port);

    [Fact]
    public void APlainListenerIsMirroredOnItsOwnPortAndReachedOverLoopback()
    {
        var port = IncomingPort.Decide(Load("\"mirror\""), At("0.0.0.0", 8080), 8080);

        Assert.NotNull(port);
        Assert.Equal(8080, port.TargetPort);
        Assert.Equal(SubscriptionMode.Mirror, port.Mode);
        Assert.Equal(At("127.0.0.1", 8080), port.App);
        Assert.Null(port.Filter);
        Assert.Equal("mirror :8080 → localhost:8080", port.Describe());
    }

    [Fact]
    public void AnIPv6WildcardListenerIsReachedOverIPv6Loopback()
    {
        Assert.Equal(At("::1", 80), IncomingPort.Decide(Load("\"steal\""), At("::", 80), 80)!.App);
    }

    [Fact]
    public void OffSubscribesNothing()
    {
        Assert.Null(IncomingPort.Decide(Load("\"off\""), At("0.0.0.0", 80), 80));
    }

    [Fact]
    public void PortMappingTurnsTheLocalPortIntoTheTargetPort()
    {
        var port = IncomingPort.Decide(Load("""{"mode": "steal", "port_mapping": [[3000, 80]]}"""), At("0.0.0.0", 3000), 3000)!;

        Assert.Equal(80, port.TargetPort);
        Assert.Equal(3000, port.App.Port);
        Assert.Equal("steal :80 → localhost:3000", port.Describe());
    }

    [Fact]
    public void ListenPortsSubscribesThePortTheAppAskedForAndDeliversToTheMovedOne()
    {
        // listen_ports [[80, 8080]]: the app binds 80, really listens on 8080, and the pod's port 80 is taken.
        var port = IncomingPort.Decide(Load("""{"mode": "steal", "listen_ports": [[80, 8080]]}"""), At("0.0.0.0", 8080), 80)!;

        Assert.Equal(80, port.TargetPort);
        Assert.Equal(At("127.0.0.1", 8080), port.App);
    }

    [Theory]
    [InlineData(9999, false)]
    [InlineData(8080, true)]
    public void IgnorePortsLeavesThosePortsAlone(int requested, bool subscribed)
    {
        var config = Load("""{"mode": "steal", "ignore_ports": [9999]}""");

        Assert.Equal(subscribed, IncomingPort.Decide(config, At("0.0.0.0", requested), requested) is not null);
    }

    [Theory]
    [InlineData(80, true)]
    [InlineData(9090, false)]
    public void PortsTakesOnlyThosePorts(int requested, bool subscribed)
    {
        var config = Load("""{"mode": "steal", "ports": [80, 443]}""");

        Assert.Equal(subscribed, IncomingPort.Decide(config, At("0.0.0.0", requested), requested) is not null);
    }

    [Theory]
    [InlineData("127.0.0.1", false)]
    [InlineData("::1", false)]
    [InlineData("0.0.0.0", true)]
    [InlineData("::", true)]
    public void IgnoreLocalhostLeavesLoopbackOnlyListenersAlone(string address, bool subscribed)
    {
        var config = Load("""{"mode": "steal", "ignore_localhost": true}""");

        Assert.Equal(subscribed, IncomingPort.Decide(config, At(address, 80), 80) is not null);
    }

    [Fact]
    public void ALoopbackListenerIsSubscribedWithoutIgnoreLocalhost()
    {
        Assert.NotNull(IncomingPort.Decide(Load("\"steal\""), At("127.0.0.1", 80), 80));
    }

    [Fact]
    public void TheFilterGoesWithEveryPortWhenHttpFilterNamesNoPorts()
    {
        var port = IncomingPort.Decide(Load("""{"mode": "steal", "http_filter": {"header_filter": "^X-Dev-User: alice$"}}"""), At("0.0.0.0", 3000), 3000)!;

        Assert.Equal("^X-Dev-User: alice$", port.Filter!.Header);
        Assert.Equal("steal :3000 → localhost:3000 (filter ^X-Dev-User: alice$)", port.Describe());
    }

    [Fact]
    public void HttpFilterPortsFilterOnlyThoseTargetPortsAndOtherPortsAreTakenWhole()
    {
        var config = Load("""{"mode": "steal", "port_mapping": [[3000, 80]], "http_filter": {"path_filter": "^/api", "ports": [80]}}""");

        var filtered = IncomingPort.Decide(config, At("0.0.0.0", 3000), 3000)!;
        var whole = IncomingPort.Decide(config, At("0.0.0.0", 9000), 9000)!;

        Assert.Equal(80, filtered.TargetPort);
        Assert.Equal("^/api", filtered.Filter!.Path);
        Assert.Null(whole.Filter);
        Assert.Equal("steal :9000 → localhost:9000", whole.Describe());
    }

    [Fact]
    public void ATakenListenPortsTargetIsOneSentenceNamingBothPorts()
    {
        Assert.Equal(
            "feature.network.incoming.listen_ports moves the app's TCP port 80 to local port 8080, which another program on this machine already uses, so the app's bind failed (EADDRINUSE): free port 8080 or map 80 to a free port.",
            Doppel.Session.Policy.ConfigPolicy.BindMoveFailure(Doppel.Interception.Policy.Transport.Tcp, 80, 8080, 98));
    }
}
