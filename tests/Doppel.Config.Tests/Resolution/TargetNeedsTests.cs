using Doppel.Config.Tests.Support;

namespace Doppel.Config.Tests.Resolution;

/// <summary>
/// What needs a target pod fails without one, as in mirrord: steal, copy_target, an ephemeral
/// agent. A missing target is final except in <c>verify-config --ide</c>, where the IDE lets
/// the user choose one afterwards; an explicit <c>targetless</c> is always final. Empty HTTP
/// filters are errors: they would match every request.
/// </summary>
public sealed class TargetNeedsTests
{
    [Theory]
    [InlineData("{\"feature\": {\"network\": {\"incoming\": {\n  \"mode\": \"steal\"}}}}", "feature.network.incoming.mode", 2, "steal takes traffic")]
    [InlineData("{\"feature\": {\"network\": {\n  \"incoming\": \"steal\"}}}", "feature.network.incoming", 2, "steal takes traffic")]
    [InlineData("{\"feature\": {\n  \"copy_target\": true}}", "feature.copy_target", 2, "copy_target copies")]
    [InlineData("{\"feature\": {\n  \"copy_target\": {\"scale_down\": true}}}", "feature.copy_target", 2, "copy_target copies")]
    [InlineData("{\"agent\": {\n  \"ephemeral\": true}}", "agent.ephemeral", 2, "an ephemeral agent container")]
    public void NeedsATargetWithoutOne(string text, string path, int line, string phrase)
    {
        var errors = Load.Errors(text);

        var error = Assert.Single(errors, e => e.KeyPath == path);
        Assert.Equal(line, error.Position!.Value.Line);
        Assert.Contains(phrase, error.Message, StringComparison.Ordinal);
        Assert.Contains("no target is given; give one with -t/--target", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StealWithoutATargetLoadsWhileTheTargetMayStillBeChosen()
    {
        var config = Load.Text("""{"feature": {"network": {"incoming": "steal"}}}""", targetChosenLater: true).Config;

        Assert.Equal(IncomingMode.Steal, config.Feature.Network.Incoming.Mode);
    }

    [Fact]
    public void StealWithTargetlessIsAnErrorEvenWhileTheTargetMayStillBeChosen()
    {
        var error = Assert.Single(Load.Errors("""{"target": "targetless", "feature": {"network": {"incoming": "steal"}}}""", targetChosenLater: true));

        Assert.Contains("the session is targetless; give a target, or use mirror mode", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StealFlagWithoutATargetNamesTheFlag()
    {
        var error = Assert.Single(Load.Errors("{}", flags: [new ConfigOverride("feature.network.incoming.mode", "steal", "--steal")]));

        Assert.StartsWith("--steal: feature.network.incoming.mode: steal takes traffic", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("pod/web")]
    [InlineData("pid/4242")]
    [InlineData("container/abc123")]
    public void StealWithATargetIsFine(string target)
    {
        var config = Load.Text("{\"target\": \"" + target + "\", \"feature\": {\"network\": {\"incoming\": \"steal\"}}}").Config;

        Assert.Equal(IncomingMode.Steal, config.Feature.Network.Incoming.Mode);
    }

    [Theory]
    [InlineData("header_filter", "feature.network.incoming.http_filter.header_filter")]
    [InlineData("path_filter", "feature.network.incoming.http_filter.path_filter")]
    [InlineData("method_filter", "feature.network.incoming.http_filter.method_filter")]
    public void EmptyHttpFilterIsAnError(string key, string path)
    {
        var error = Assert.Single(Load.Errors("{\"target\": \"pod/web\", \"feature\": {\"network\": {\"incoming\": {\"mode\": \"steal\", \"http_filter\": {\"" + key + "\": \"\"}}}}}"));

        Assert.Equal(path, error.KeyPath);
        Assert.Contains("is empty, so it would match every request", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("all_of", "header")]
    [InlineData("any_of", "path")]
    [InlineData("any_of", "method")]
    public void EmptyRuleInsideAllOfOrAnyOfIsAnError(string list, string rule)
    {
        var error = Assert.Single(Load.Errors("{\"feature\": {\"network\": {\"incoming\": {\"http_filter\": {\"" + list + "\": [{\"" + rule + "\": \"\"}]}}}}}"));

        Assert.Equal($"feature.network.incoming.http_filter.{list}[0].{rule}", error.KeyPath);
    }
}
