using System.Text.Json.Nodes;
using Doppel.Cli.Tests.Support;

namespace Doppel.Cli.Tests.Commands;

public sealed class VerifyConfigCommandTests
{
    // The multi-developer example steals, so it runs with a target (its README: doppel exec -t deployment/bff).
    private static readonly Dictionary<string, string> s_carolOnBff = new() { ["USER"] = "carol", ["MIRRORD_IMPERSONATED_TARGET"] = "deployment/bff" };

    [Theory]
    [InlineData("seed-commented.jsonc", "read", "mirror", false)]
    [InlineData("seed-multi-developer.json", "read", "steal", false)]
    [InlineData("seed-privileged-agent.json", "read", "mirror", true)]
    [InlineData("seed-sidecar-logs.json", "write", "mirror", false)]
    public async Task EveryPublishedExampleVerifiesAndPrintsResolvedJson(string example, string fsMode, string incomingMode, bool privileged)
    {
        var env = example == "seed-multi-developer.json" ? s_carolOnBff : new Dictionary<string, string> { ["USER"] = "carol" };
        var (code, console) = await CliRunner.RunAsync(env, RepoPaths.Examples, "verify-config", example);

        Assert.Equal(ExitCodes.Success, code);
        var json = JsonNode.Parse(console.StdOut)!;
        Assert.Equal(fsMode, json["feature"]!["fs"]!["mode"]!.GetValue<string>());
        Assert.Equal(incomingMode, json["feature"]!["network"]!["incoming"]!["mode"]!.GetValue<string>());
        Assert.Equal(privileged, json["agent"]!["privileged"]!.GetValue<bool>());
    }

    [Fact]
    public async Task HeaderFilterIsRenderedWithTheCurrentUser()
    {
        var (code, console) = await CliRunner.RunAsync(s_carolOnBff, RepoPaths.Examples, "verify-config", "seed-multi-developer.json");

        Assert.Equal(0, code);
        var filter = JsonNode.Parse(console.StdOut)!["feature"]!["network"]!["incoming"]!["http_filter"]!["header_filter"]!.GetValue<string>();
        Assert.Equal("^X-Dev-User: carol$", filter);
    }

    [Fact]
    public async Task InvalidConfigurationIsOneMessageOnStderrAndExitCodeTwo()
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "bad.json"), "{\n  \"feature\": {\"network\": {\"incoming\": {\"mode\": \"steel\"}}}\n}");

        var (code, console) = await CliRunner.RunAsync(new Dictionary<string, string>(), dir.Path, "verify-config", "bad.json");

        Assert.Equal(ExitCodes.ConfigError, code);
        Assert.Equal(string.Empty, console.StdOut);
        Assert.Equal("error: bad.json:2:40: feature.network.incoming.mode: 'steel' is not one of mirror, steal, off." + Environment.NewLine, console.StdErr);
    }

    [Fact]
    public async Task IdeModePrintsSuccessWithConfigAndWarnings()
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "c.json"), "{\"feature\": {\"magic\": {\"aws\": false}}}");

        var (code, console) = await CliRunner.RunAsync(new Dictionary<string, string>(), dir.Path, "verify-config", "--ide", "c.json");

        Assert.Equal(0, code);
        var result = JsonNode.Parse(console.StdOut)!;
        Assert.Equal("Success", result["type"]!.GetValue<string>());
        Assert.NotNull(result["config"]!["feature"]);
        Assert.Contains("feature.magic: a mirrord feature that doppel does not implement yet", result["warnings"]![0]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(string.Empty, console.StdErr);
    }

    [Fact]
    public async Task IdeModePrintsFailWithTheError()
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "c.json"), "{\"target\": \"deploymnt/x\"}");

        var (code, console) = await CliRunner.RunAsync(new Dictionary<string, string>(), dir.Path, "verify-config", "--ide", "c.json");

        Assert.Equal(ExitCodes.ConfigError, code);
        var result = JsonNode.Parse(console.StdOut)!;
        Assert.Equal("Fail", result["type"]!.GetValue<string>());
        Assert.StartsWith("c.json:1:2: target: 'deploymnt/x' is not a target", result["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(result["warnings"]!.AsArray());
    }

    [Fact]
    public async Task StealWithoutATargetFailsExceptInIdeModeWhereTheTargetIsChosenLater()
    {
        var env = new Dictionary<string, string> { ["USER"] = "carol" };

        var (code, console) = await CliRunner.RunAsync(env, RepoPaths.Examples, "verify-config", "seed-multi-developer.json");
        var (ideCode, ide) = await CliRunner.RunAsync(env, RepoPaths.Examples, "verify-config", "--ide", "seed-multi-developer.json");

        Assert.Equal(ExitCodes.ConfigError, code);
        Assert.Contains("seed-multi-developer.json:11:9: feature.network.incoming.mode: steal takes traffic from a target's pod, but no target is given", console.StdErr, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Success, ideCode);
        Assert.Equal("Success", JsonNode.Parse(ide.StdOut)!["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task MissingFileIsAConfigurationError()
    {
        var (code, console) = await CliRunner.RunAsync("verify-config", "does-not-exist.json");

        Assert.Equal(ExitCodes.ConfigError, code);
        Assert.Contains("does-not-exist.json: the configuration file does not exist", console.StdErr, StringComparison.Ordinal);
    }
}
