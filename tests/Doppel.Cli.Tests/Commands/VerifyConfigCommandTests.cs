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
        var (code, console) = await CliRunner.RunAsync(env, RepoPaths.Examples, "verify-config", "--resolved", example);

        Assert.Equal(ExitCodes.Success, code);
        var json = JsonNode.Parse(console.StdOut)!["resolved_config"]!;
        Assert.Equal(fsMode, json["feature"]!["fs"]!["mode"]!.GetValue<string>());
        Assert.Equal(incomingMode, json["feature"]!["network"]!["incoming"]!["mode"]!.GetValue<string>());
        Assert.Equal(privileged, json["agent"]!["privileged"]!.GetValue<bool>());
    }

    [Fact]
    public async Task HeaderFilterIsRenderedWithTheCurrentUser()
    {
        var (code, console) = await CliRunner.RunAsync(s_carolOnBff, RepoPaths.Examples, "verify-config", "--resolved", "seed-multi-developer.json");

        Assert.Equal(0, code);
        var filter = JsonNode.Parse(console.StdOut)!["resolved_config"]!["feature"]!["network"]!["incoming"]!["http_filter"]!["header_filter"]!.GetValue<string>();
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
    public async Task IdeModePrintsMirrordsSuccessShapeWithTheTargetAndWarnings()
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "c.json"), "{\"target\": {\"path\": \"deployment/bff/container/app\", \"namespace\": \"dev\"}, \"feature\": {\"magic\": {\"aws\": false}}}");

        var (code, console) = await CliRunner.RunAsync(new Dictionary<string, string>(), dir.Path, "verify-config", "--ide", "c.json");

        Assert.Equal(0, code);
        Assert.Single(console.StdOut.TrimEnd('\n').Split('\n'));
        var result = JsonNode.Parse(console.StdOut)!.AsObject();
        Assert.Equal(["type", "config", "warnings", "compatible_target_types"], result.Select(p => p.Key));
        Assert.Equal("Success", result["type"]!.GetValue<string>());
        Assert.Equal("""{"path":{"deployment":"bff","container":"app"},"namespace":"dev"}""", result["config"]!.ToJsonString());
        Assert.Contains("feature.magic: a mirrord feature that doppel does not implement yet", result["warnings"]![0]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(["targetless", "pod", "deployment", "rollout", "job", "cronjob", "statefulset", "service", "replicaset"], result["compatible_target_types"]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.Equal(string.Empty, console.StdErr);
    }

    [Theory]
    [InlineData("{}", "null")]
    [InlineData("{\"target\": \"targetless\"}", "\"targetless\"")]
    [InlineData("{\"target\": \"cronjob/nightly\"}", "{\"cron_job\":\"nightly\",\"container\":null}")]
    [InlineData("{\"target\": \"pid/4242\"}", "{\"pid\":\"4242\"}")]
    public async Task IdeModeNamesTheTargetAsMirrordDoes(string file, string path)
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "c.json"), file);

        var (_, console) = await CliRunner.RunAsync(new Dictionary<string, string>(), dir.Path, "verify-config", "--ide", "c.json");

        Assert.Equal(path, JsonNode.Parse(console.StdOut)!["config"]!["path"]?.ToJsonString() ?? "null");
    }

    [Fact]
    public async Task IdeModePrintsFailWithTheErrorsAndExitsZeroAsMirrordDoes()
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "c.json"), "{\"target\": \"deploymnt/x\"}");

        var (code, console) = await CliRunner.RunAsync(new Dictionary<string, string>(), dir.Path, "verify-config", "--ide", "c.json");

        Assert.Equal(0, code);
        var result = JsonNode.Parse(console.StdOut)!.AsObject();
        Assert.Equal(["type", "errors"], result.Select(p => p.Key));
        Assert.Equal("Fail", result["type"]!.GetValue<string>());
        Assert.StartsWith("c.json:1:2: target: 'deploymnt/x' is not a target", result["errors"]![0]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ResolvedAddsTheFullyResolvedConfiguration()
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "c.json"), "{\"feature\": {\"fs\": \"write\"}}");

        var plain = await CliRunner.RunAsync(new Dictionary<string, string>(), dir.Path, "verify-config", "c.json");
        var resolved = await CliRunner.RunAsync(new Dictionary<string, string>(), dir.Path, "verify-config", "--ide", "--resolved", "c.json");

        Assert.Null(JsonNode.Parse(plain.Console.StdOut)!["resolved_config"]);
        Assert.Equal("Success", JsonNode.Parse(plain.Console.StdOut)!["type"]!.GetValue<string>());
        var config = JsonNode.Parse(resolved.Console.StdOut)!["resolved_config"]!;
        Assert.Equal("write", config["feature"]!["fs"]!["mode"]!.GetValue<string>());
        Assert.True(config["feature"]!["network"]!["dns"]!["enabled"]!.GetValue<bool>());
    }

    [Fact]
    public async Task ContradictingOutgoingAndDnsFiltersAreAWarning()
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "c.json"), """{"feature":{"network":{"outgoing":{"filter":{"local":["db.example.com"]}},"dns":{"filter":{"remote":["db.example.com"]}}}}}""");

        var (code, console) = await CliRunner.RunAsync(new Dictionary<string, string>(), dir.Path, "verify-config", "c.json");

        Assert.Equal(0, code);
        const string Warning = "feature.network.outgoing.filter sends db.example.com through the local side, but feature.network.dns.filter resolves it remotely";
        Assert.StartsWith(Warning, JsonNode.Parse(console.StdOut)!["warnings"]![0]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains(Warning, console.StdErr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"header_filter": "X-Dev-User: al"}""", "header_filter", "^X-Dev-User: al$")]
    [InlineData("""{"header_filter": "^X-Dev-User: al"}""", "header_filter", "^X-Dev-User: al$")]
    [InlineData("""{"all_of": [{"path": "^/api$"}, {"header": "X-Dev-User: al"}]}""", "all_of[1].header", "^X-Dev-User: al$")]
    [InlineData("""{"any_of": [{"header": "x-team: blue|x-team: green"}]}""", "any_of[0].header", "^(?:x-team: blue|x-team: green)$")]
    public async Task AnUnanchoredHeaderFilterIsAWarningThatShowsTheAnchoredForm(string httpFilter, string key, string anchored)
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "c.json"), """{"feature": {"network": {"incoming": {"mode": "mirror", "http_filter": """ + httpFilter + "}}}}");

        var (code, console) = await CliRunner.RunAsync(new Dictionary<string, string>(), dir.Path, "verify-config", "c.json");

        Assert.Equal(ExitCodes.Success, code);
        var warning = Assert.Single(JsonNode.Parse(console.StdOut)!["warnings"]!.AsArray())!.GetValue<string>();
        Assert.Contains($"feature.network.incoming.http_filter.{key}: ", warning, StringComparison.Ordinal);
        Assert.Contains($"is not anchored, so it also matches any header that merely contains it (a longer value too); write '{anchored}' to match only that header and value.", warning, StringComparison.Ordinal);
        Assert.Contains("warning: ", console.StdErr, StringComparison.Ordinal);
        Assert.Contains(anchored, console.StdErr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("^X-Dev-User: al$")]
    [InlineData(@"(?i)^x-user: me\\z")]
    [InlineData("^baggage: .*session=abc.*")]
    [InlineData("^X-Team: (blue|green)$")]
    public async Task AnAnchoredHeaderFilterIsNoWarning(string filter)
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "c.json"), "{\"feature\": {\"network\": {\"incoming\": {\"mode\": \"mirror\", \"http_filter\": {\"header_filter\": \"" + filter + "\"}}}}}");

        var (code, console) = await CliRunner.RunAsync(new Dictionary<string, string>(), dir.Path, "verify-config", "c.json");

        Assert.Equal(ExitCodes.Success, code);
        Assert.Empty(JsonNode.Parse(console.StdOut)!["warnings"]!.AsArray());
        Assert.Equal(string.Empty, console.StdErr);
    }

    [Fact]
    public async Task AnEscapedDollarDoesNotAnchorAHeaderFilter()
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "c.json"), """{"feature": {"network": {"incoming": {"mode": "mirror", "http_filter": {"header_filter": "^x-price: 5\\$"}}}}}""");

        var (code, console) = await CliRunner.RunAsync(new Dictionary<string, string>(), dir.Path, "verify-config", "c.json");

        Assert.Equal(ExitCodes.Success, code);
        Assert.Contains(@"write '^x-price: 5\$$'", console.StdErr, StringComparison.Ordinal);
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
