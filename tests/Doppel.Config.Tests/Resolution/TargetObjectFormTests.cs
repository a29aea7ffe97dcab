using Doppel.Config.Tests.Support;

namespace Doppel.Config.Tests.Resolution;

/// <summary>
/// mirrord's target object form, with the kind keys directly under <c>target</c> or under
/// <c>target.path</c>, with or without container and namespace, for every kind.
/// </summary>
public sealed class TargetObjectFormTests
{
    public static TheoryData<string, TargetKind, string> Kinds => new()
    {
        { "pod", TargetKind.Pod, "pod" },
        { "deployment", TargetKind.Deployment, "deployment" },
        { "rollout", TargetKind.Rollout, "rollout" },
        { "stateful_set", TargetKind.StatefulSet, "statefulset" },
        { "job", TargetKind.Job, "job" },
        { "cron_job", TargetKind.CronJob, "cronjob" },
        { "service", TargetKind.Service, "service" },
        { "replica_set", TargetKind.ReplicaSet, "replicaset" },
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void EveryKindWorksDirectlyUnderTargetWithContainerAndNamespace(string key, TargetKind kind, string word)
    {
        var loaded = Load.Text($$$"""{"target": {"{{{key}}}": "web-0", "container": "app", "namespace": "dev"}}""");

        var target = loaded.Config.Target!;
        Assert.Equal((kind, "web-0", "app", "dev", $"{word}/web-0/container/app"), (target.Kind, target.Name, target.Container, target.Namespace, target.Path));
        Assert.Empty(loaded.Warnings);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void EveryKindWorksDirectlyUnderTargetAlone(string key, TargetKind kind, string word)
    {
        var target = Load.Text($$$"""{"target": {"{{{key}}}": "bff"}}""").Config.Target!;

        Assert.Equal((kind, "bff", null, null, $"{word}/bff"), (target.Kind, target.Name, target.Container, target.Namespace, target.Path));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void EveryKindWorksUnderPathWithNamespaceBeside(string key, TargetKind kind, string word)
    {
        var target = Load.Text($$$"""{"target": {"path": {"{{{key}}}": "bff", "container": "c"}, "namespace": "ns"}}""").Config.Target!;

        Assert.Equal((kind, "bff", "c", "ns", $"{word}/bff/container/c"), (target.Kind, target.Name, target.Container, target.Namespace, target.Path));
    }

    [Fact]
    public void LabelsWorkDirectlyUnderTarget()
    {
        var target = Load.Text("""{"target": {"labels": {"app": "web", "tier": "front"}, "namespace": "dev"}}""").Config.Target!;

        Assert.Equal((TargetKind.Label, "label/app=web,tier=front", "dev"), (target.Kind, target.Path, target.Namespace));
    }

    [Theory]
    [InlineData("doppel.yaml", "target:\n  deployment: bff\n  container: app\n  namespace: dev\n")]
    [InlineData("doppel.toml", "[target]\ndeployment = \"bff\"\ncontainer = \"app\"\nnamespace = \"dev\"\n")]
    public void DirectFormWorksInYamlAndToml(string name, string text)
    {
        var target = Load.Text(text, name).Config.Target!;

        Assert.Equal(("deployment/bff/container/app", "dev"), (target.Path, target.Namespace));
    }

    [Fact]
    public void TargetFlagReplacesTheDirectFormAndKeepsItsNamespace()
    {
        var target = Load.Text("""{"target": {"pod": "web-0", "container": "app", "namespace": "dev"}}""", flags: [new ConfigOverride("target.path", "deployment/bff", "--target")]).Config.Target!;

        Assert.Equal(("deployment/bff", "dev"), (target.Path, target.Namespace));
    }

    [Fact]
    public void MistakesInTheDirectFormPointAtTheKeysAsWritten()
    {
        var twoKinds = Assert.Single(Load.Errors("{\n\"target\": {\"pod\": \"a\",\n \"deployment\": \"b\"}}"));
        var badName = Assert.Single(Load.Errors("{\"target\": {\n  \"pod\": \"my pod\"}}"));
        var containerOnly = Assert.Single(Load.Errors("{\n\"target\": {\"container\": \"app\"}}"));

        Assert.Equal(("target", 2), (twoKinds.KeyPath, twoKinds.Position!.Value.Line));
        Assert.Contains("names pod and deployment; give exactly one", twoKinds.Message, StringComparison.Ordinal);
        Assert.Equal(("target.pod", 2), (badName.KeyPath, badName.Position!.Value.Line));
        Assert.Equal(("target", 2), (containerOnly.KeyPath, containerOnly.Position!.Value.Line));
        Assert.Contains("names no resource", containerOnly.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PathAndADirectKindTogetherAreAnError()
    {
        var error = Assert.Single(Load.Errors("{\"target\": {\"path\": \"pod/a\",\n  \"deployment\": \"b\"}}"));

        Assert.Equal(("target.deployment", 2), (error.KeyPath, error.Position!.Value.Line));
        Assert.Contains("the target is given twice", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MisspelledKindKeyIsAnErrorNotATargetlessRun()
    {
        var error = Assert.Single(Load.Errors("{\"target\": {\"statefulset\": \"db\"}}"));

        Assert.Equal("target.statefulset", error.KeyPath);
        Assert.Contains("did you mean 'stateful_set'?", error.Message, StringComparison.Ordinal);
    }
}
