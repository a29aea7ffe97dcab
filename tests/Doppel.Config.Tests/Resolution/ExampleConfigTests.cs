using Doppel.Config.Tests.Support;

namespace Doppel.Config.Tests.Resolution;

/// <summary>The four configurations users publish for mirrord load unchanged, with their meaning.</summary>
public sealed class ExampleConfigTests
{
    // The example's README runs it as doppel exec -t deployment/bff: steal needs a target.
    private static readonly ConfigOverride[] s_bffTarget = [new("target.path", "deployment/bff", "--target")];

    private static string Example(string name) => Path.Combine(AppContext.BaseDirectory, "Examples", name);

    [Fact]
    public void MultiDeveloperExampleStealsOnlyRequestsCarryingTheCurrentUser()
    {
        var loaded = Load.File(Example("seed-multi-developer.json"), new Dictionary<string, string> { ["USER"] = "alice" }, s_bffTarget);

        var incoming = loaded.Config.Feature.Network.Incoming;
        Assert.Equal(IncomingMode.Steal, incoming.Mode);
        Assert.Equal("^X-Dev-User: alice$", incoming.HttpFilter.HeaderFilter);
        Assert.True(loaded.Config.Feature.Env.Enabled);
        Assert.True(loaded.Config.Feature.Network.Dns.Enabled);
        Assert.True(loaded.Config.Feature.Network.Outgoing.Tcp);
        Assert.True(loaded.Config.Feature.Network.Outgoing.Udp);
        Assert.Empty(loaded.Warnings);
    }

    [Fact]
    public void MultiDeveloperExampleFallsBackToUnknownWithoutUser()
    {
        var loaded = Load.File(Example("seed-multi-developer.json"), new Dictionary<string, string>(), s_bffTarget);

        Assert.Equal("^X-Dev-User: unknown$", loaded.Config.Feature.Network.Incoming.HttpFilter.HeaderFilter);
    }

    [Fact]
    public void MultiDeveloperExampleLoadsInAnIdeBeforeATargetIsChosenButNotWithoutATarget()
    {
        var ide = Load.File(Example("seed-multi-developer.json"), new Dictionary<string, string> { ["USER"] = "alice" }, targetChosenLater: true);
        var error = Assert.Single(Assert.Throws<ConfigException>(() => Load.File(Example("seed-multi-developer.json"))).Errors);

        Assert.Equal(IncomingMode.Steal, ide.Config.Feature.Network.Incoming.Mode);
        Assert.Null(ide.Config.Target);
        Assert.Equal(("feature.network.incoming.mode", 11), (error.KeyPath, error.Position!.Value.Line));
        Assert.Contains("steal takes traffic from a target's pod, but no target is given", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CommentedExampleLoadsWithItsTargetContextAndModes()
    {
        var loaded = Load.File(Example("seed-commented.jsonc"));
        var config = loaded.Config;

        Assert.Equal("/path/to/kubeconfig", config.Kubeconfig);
        Assert.Equal("context_name", config.KubeContext);
        Assert.NotNull(config.Target);
        Assert.Equal(TargetKind.Pod, config.Target.Kind);
        Assert.Equal("pod_name", config.Target.Name);
        Assert.Equal("container_name", config.Target.Container);
        Assert.Equal("namespace_name", config.Target.Namespace);
        Assert.Equal(IncomingMode.Mirror, config.Feature.Network.Incoming.Mode);
        Assert.Equal(FsMode.Read, config.Feature.Fs.Mode);

        // Placeholders with '_' are not Kubernetes names: loading works, and the user is told.
        Assert.Contains(loaded.Warnings, w => w.KeyPath == "target.path" && w.Message.Contains("'pod_name'", StringComparison.Ordinal));
        Assert.Contains(loaded.Warnings, w => w.KeyPath == "target.namespace" && w.Position == new SourcePosition(6, 5));
    }

    [Fact]
    public void SidecarExampleWritesOneFileRemotelyAndSendsMetadataTrafficThroughThePod()
    {
        var config = Load.File(Example("seed-sidecar-logs.json")).Config;

        Assert.Equal("pod/test/container/dummy", config.Target!.Path);
        Assert.Equal("test", config.Target.Namespace);
        Assert.Equal(FsMode.Write, config.Feature.Fs.Mode);
        Assert.Equal(["/var/audit-logs/audit.log"], config.Feature.Fs.ReadWrite);
        Assert.Single(config.Feature.Fs.Rules.ReadWrite);
        var filter = Assert.Single(config.Feature.Network.Outgoing.Filter!.Parsed);
        Assert.Equal(System.Net.IPNetwork.Parse("169.254.169.254/32"), filter.Network);
        Assert.Null(config.Feature.Network.Outgoing.Filter.Local);
    }

    [Fact]
    public void PrivilegedAgentExampleKeepsEveryOtherDefault()
    {
        var config = Load.File(Example("seed-privileged-agent.json")).Config;

        var expected = new DoppelConfig { Agent = new AgentConfig { Privileged = true }, Key = config.Key };
        Assert.Equal(Output.ConfigJson.Serialize(expected), Output.ConfigJson.Serialize(config));
        Assert.Null(config.Target);
    }
}
