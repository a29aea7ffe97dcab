using Doppel.Config.Tests.Support;

namespace Doppel.Config.Tests.Resolution;

/// <summary><c>"network": true/false</c> toggles, and empty strings that mean "not set".</summary>
public sealed class EmptyAndToggleValuesTests
{
    [Theory]
    [InlineData("doppel.json", """{"feature": {"network": false}}""")]
    [InlineData("doppel.yaml", "feature:\n  network: false\n")]
    [InlineData("doppel.toml", "[feature]\nnetwork = false\n")]
    public void NetworkFalseTurnsEveryNetworkFeatureOff(string name, string text)
    {
        var loaded = Load.Text(text, name);

        var network = loaded.Config.Feature.Network;
        Assert.Equal(IncomingMode.Off, network.Incoming.Mode);
        Assert.False(network.Outgoing.Tcp);
        Assert.False(network.Outgoing.Udp);
        Assert.False(network.Dns.Enabled);
        Assert.Empty(loaded.Warnings);
    }

    [Fact]
    public void NetworkTrueKeepsTheDefaults()
    {
        var network = Load.Text("""{"feature": {"network": true}}""").Config.Feature.Network;

        Assert.Equal(new NetworkConfig(), network with { });
        Assert.Equal(IncomingMode.Mirror, network.Incoming.Mode);
        Assert.True(network.Outgoing.Tcp && network.Outgoing.Udp && network.Dns.Enabled);
    }

    [Fact]
    public void FlagsStillReachIntoNetworkFalse()
    {
        var config = Load.Text("""{"target": "pod/web", "feature": {"network": false}}""", flags: [new ConfigOverride("feature.network.incoming.mode", "steal", "--steal")]).Config;

        Assert.Equal(IncomingMode.Steal, config.Feature.Network.Incoming.Mode);
        Assert.False(config.Feature.Network.Outgoing.Tcp);
    }

    [Fact]
    public void NetworkAsAStringIsAnErrorAtTheKeyWritten()
    {
        var error = Assert.Single(Load.Errors("{\"feature\": {\n  \"network\": \"off\"}}"));

        Assert.Equal(("feature.network", 2), (error.KeyPath, error.Position!.Value.Line));
    }

    [Fact]
    public void EmptyAgentImageAndPullPolicyMeanNotSet()
    {
        var loaded = Load.Text("""{"agent": {"image": "", "image_pull_policy": "", "namespace": "", "log_level": ""}}""");

        var defaults = new AgentConfig();
        Assert.Equal(defaults.Image, loaded.Config.Agent.Image);
        Assert.Equal(defaults.ImagePullPolicy, loaded.Config.Agent.ImagePullPolicy);
        Assert.Null(loaded.Config.Agent.Namespace);
        Assert.Equal(defaults.LogLevel, loaded.Config.Agent.LogLevel);
        Assert.Empty(loaded.Warnings);
    }

    [Fact]
    public void EmptyRegistryAndTagMeanNotSet()
    {
        var image = Load.Text("""{"agent": {"image": {"registry": "", "tag": "1.2"}}}""").Config.Agent.Image;

        Assert.Equal((new AgentImageConfig().Registry, "1.2"), (image.Registry, image.Tag));
    }

    [Fact]
    public void WrongPullPolicyIsStillAnError()
    {
        Assert.Contains("'sometimes' is not one of", Assert.Single(Load.Errors("""{"agent": {"image_pull_policy": "sometimes"}}""")).Message, StringComparison.Ordinal);
    }
}
