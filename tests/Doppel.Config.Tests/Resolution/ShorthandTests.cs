using Doppel.Config.Tests.Support;

namespace Doppel.Config.Tests.Resolution;

/// <summary>mirrord's bool/string/object shorthands mean the same as their object forms.</summary>
public sealed class ShorthandTests
{
    [Theory]
    [InlineData("\"write\"", FsMode.Write)]
    [InlineData("\"read\"", FsMode.Read)]
    [InlineData("\"local\"", FsMode.Local)]
    [InlineData("\"localwithoverrides\"", FsMode.LocalWithOverrides)]
    [InlineData("\"WRITE\"", FsMode.Write)]
    [InlineData("true", FsMode.Read)]
    [InlineData("false", FsMode.Local)]
    [InlineData("{\"mode\": \"write\"}", FsMode.Write)]
    public void FsShorthandsSetTheMode(string value, FsMode expected)
    {
        var config = Load.Text("{\"feature\": {\"fs\": " + value + "}}").Config;

        Assert.Equal(expected, config.Feature.Fs.Mode);
    }

    [Theory]
    [InlineData("\"steal\"", IncomingMode.Steal)]
    [InlineData("\"mirror\"", IncomingMode.Mirror)]
    [InlineData("\"off\"", IncomingMode.Off)]
    [InlineData("true", IncomingMode.Mirror)]
    [InlineData("false", IncomingMode.Off)]
    [InlineData("{\"mode\": \"steal\"}", IncomingMode.Steal)]
    public void IncomingShorthandsSetTheMode(string value, IncomingMode expected)
    {
        var config = Load.Text("{\"target\": \"pod/web\", \"feature\": {\"network\": {\"incoming\": " + value + "}}}").Config;

        Assert.Equal(expected, config.Feature.Network.Incoming.Mode);
    }

    [Fact]
    public void EnvFalseTurnsTheEnvironmentFeatureOff()
    {
        Assert.False(Load.Text("""{"feature": {"env": false}}""").Config.Feature.Env.Enabled);
        Assert.True(Load.Text("""{"feature": {"env": true}}""").Config.Feature.Env.Enabled);
        Assert.True(Load.Text("""{"feature": {"env": {"include": "A;B"}}}""").Config.Feature.Env.Enabled);
    }

    [Fact]
    public void OutgoingAndDnsBooleansSwitchTheirFeatures()
    {
        var config = Load.Text("""{"feature": {"network": {"outgoing": false, "dns": false}}}""").Config;

        Assert.False(config.Feature.Network.Outgoing.Tcp);
        Assert.False(config.Feature.Network.Outgoing.Udp);
        Assert.False(config.Feature.Network.Dns.Enabled);
    }

    [Theory]
    [InlineData("\"deployment/x/container/y\"")]
    [InlineData("{\"path\": \"deployment/x/container/y\"}")]
    [InlineData("{\"path\": {\"deployment\": \"x\", \"container\": \"y\"}}")]
    public void TargetStringAndObjectFormsResolveAlike(string value)
    {
        var target = Load.Text("{\"target\": " + value + "}").Config.Target;

        Assert.NotNull(target);
        Assert.Equal(TargetKind.Deployment, target.Kind);
        Assert.Equal("x", target.Name);
        Assert.Equal("y", target.Container);
        Assert.Equal("deployment/x/container/y", target.Path);
    }

    [Theory]
    [InlineData("targetless", TargetKind.Targetless, null, null)]
    [InlineData("pod/web", TargetKind.Pod, "web", null)]
    [InlineData("rollout/web/container/app", TargetKind.Rollout, "web", "app")]
    [InlineData("job/batch", TargetKind.Job, "batch", null)]
    [InlineData("cronjob/nightly", TargetKind.CronJob, "nightly", null)]
    [InlineData("statefulset/db", TargetKind.StatefulSet, "db", null)]
    [InlineData("service/api", TargetKind.Service, "api", null)]
    [InlineData("replicaset/web-5d9", TargetKind.ReplicaSet, "web-5d9", null)]
    [InlineData("pid/4242", TargetKind.Pid, "4242", null)]
    [InlineData("container/3f2a9c", TargetKind.Container, "3f2a9c", null)]
    public void EveryTargetFormParses(string path, TargetKind kind, string? name, string? container)
    {
        var target = Load.Text($$"""{"target": "{{path}}"}""").Config.Target!;

        Assert.Equal(kind, target.Kind);
        Assert.Equal(name, target.Name);
        Assert.Equal(container, target.Container);
    }

    [Fact]
    public void LabelTargetsKeepTheirSelector()
    {
        var target = Load.Text("""{"target": "label/app=web,tier=front"}""").Config.Target!;

        Assert.Equal(TargetKind.Label, target.Kind);
        Assert.Equal("web", target.Labels!["app"]);
        Assert.Equal("front", target.Labels["tier"]);
    }

    [Fact]
    public void SemicolonStringsAndListsAreTheSameList()
    {
        var a = Load.Text("""{"skip_processes": "bash;node", "feature": {"env": {"include": "A;B_*"}}}""").Config;
        var b = Load.Text("""{"skip_processes": ["bash", "node"], "feature": {"env": {"include": ["A", "B_*"]}}}""").Config;

        Assert.Equal(["bash", "node"], a.SkipProcesses);
        Assert.Equal(a.SkipProcesses, b.SkipProcesses);
        Assert.Equal(a.Feature.Env.Include, b.Feature.Env.Include);
    }

    [Fact]
    public void AgentImageStringSplitsIntoRegistryAndTag()
    {
        var image = Load.Text("""{"agent": {"image": "registry.example:5000/team/doppel-agent:1.2.3"}}""").Config.Agent.Image;

        Assert.Equal("registry.example:5000/team/doppel-agent", image.Registry);
        Assert.Equal("1.2.3", image.Tag);
    }
}
