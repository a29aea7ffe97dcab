using System.Text.Json.Nodes;
using Doppel.Config.Binding;
using Doppel.Config.Tests.Support;

namespace Doppel.Config.Tests.Resolution;

/// <summary>
/// doppel knows mirrord's whole key set: a typo is an error with the nearest key (mirrord rejects
/// unknown keys; a typo must not run with defaults), and a key mirrord has that doppel does not
/// implement loads with one warning saying so and what happens instead.
/// </summary>
public sealed class MirrordKeySetTests
{
    public static TheoryData<string> Implementable() => Paths(MirrordOnlyHandling.Warn);

    public static TheoryData<string> Silent() => Paths(MirrordOnlyHandling.Silent);

    [Theory]
    [MemberData(nameof(Implementable))]
    public void MirrordFeatureDoppelDoesNotImplementLoadsWithOneWarning(string path)
    {
        var loaded = Load.Text(FileSetting(path));

        var warning = Assert.Single(loaded.Warnings);
        Assert.Equal(path, warning.KeyPath);
        Assert.StartsWith("a mirrord feature that doppel does not implement yet; ", warning.Message, StringComparison.Ordinal);
        Assert.Equal(1, warning.Position!.Value.Line);
    }

    [Theory]
    [MemberData(nameof(Silent))]
    public void MacOsOnlySettingsLoadWithoutAWord(string path)
    {
        Assert.Empty(Load.Text(FileSetting(path)).Warnings);
    }

    [Fact]
    public void OneWarningPerFeatureHoweverManyOfItsKeysAreSet()
    {
        var loaded = Load.Text("""{"feature": {"copy_target": {"enabled": true, "scale_down": true, "exclude_containers": ["x"]}}, "target": "deployment/web"}""");

        Assert.Equal("feature.copy_target", Assert.Single(loaded.Warnings).KeyPath);
    }

    [Fact]
    public void TypoInsideAFeatureDoppelDoesNotImplementIsStillAnError()
    {
        var error = Assert.Single(Load.Errors("{\"internal_proxy\": {\n  \"idle_timout\": 5}}"));

        Assert.Equal(("internal_proxy.idle_timout", 2), (error.KeyPath, error.Position!.Value.Line));
        Assert.Contains("did you mean 'idle_timeout'?", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TypoOfAFeatureDoppelDoesNotImplementSuggestsIt()
    {
        var error = Assert.Single(Load.Errors("""{"feature": {"copy_taget": true}}"""));

        Assert.Contains("did you mean 'copy_target'?", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"feature": {"network": {"incoming": {"http_filter": {"header_filter_jq": ".a"}}}}}""", "feature.network.incoming.http_filter.header_filter_jq")]
    public void HttpFiltersDoppelCannotApplyAreErrorsNotStealingEverything(string text, string path)
    {
        var error = Assert.Single(Load.Errors(text));

        Assert.Equal(path, error.KeyPath);
        Assert.Contains("does not implement yet", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownExperimentalSwitchIsAnErrorAndKnownOnesAreWarnedEach()
    {
        var loaded = Load.Text("""{"experimental": {"tcp_ping4_mock": true, "hide_ipv6_interfaces": true}}""");
        var error = Assert.Single(Load.Errors("""{"experimental": {"tcp_ping_mock": true}}"""));

        Assert.Equal(["experimental.hide_ipv6_interfaces", "experimental.tcp_ping4_mock"], loaded.Warnings.Select(w => w.KeyPath).Order(StringComparer.Ordinal));
        Assert.Contains("did you mean 'tcp_ping4_mock'?", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"experimental": {"tcp_ping4_mock": false, "trust_any_certificate": false, "enable_exec_hooks_linux": true, "hide_ipv6_interfaces": false}}""")]
    [InlineData("""{"experimental": {"disable_reuseaddr": null, "use_dev_null": false, "idle_local_http_connection_timeout": 3000, "non_blocking_tcp_connect": true}}""")]
    [InlineData("""{"experimental": {"go_asmcgocall": true, "sip_utils": true, "applev": {}, "transmit_delay": 0, "receive_delay": 0, "dlopen_cgo": false}}""")]
    public void ExperimentalSwitchesThatAskForWhatDoppelDoesLoadSilently(string text)
    {
        var loaded = Load.Text(text);

        Assert.Empty(loaded.Warnings);
    }

    [Theory]
    [InlineData("""{"experimental": {"tcp_ping4_mock": false, "trust_any_certificate": true}}""", "experimental.trust_any_certificate")]
    [InlineData("""{"experimental": {"enable_exec_hooks_linux": false}}""", "experimental.enable_exec_hooks_linux")]
    [InlineData("""{"experimental": {"idle_local_http_connection_timeout": 10}}""", "experimental.idle_local_http_connection_timeout")]
    [InlineData("""{"experimental": {"transmit_delay": 200}}""", "experimental.transmit_delay")]
    [InlineData("""{"experimental": {"latency": {}}}""", "experimental.latency")]
    public void ExperimentalSwitchesThatAskForWhatDoppelDoesNotDoAreWarned(string text, string path)
    {
        var warning = Assert.Single(Load.Text(text).Warnings);

        Assert.Equal(path, warning.KeyPath);
    }

    [Fact]
    public void SkipExtraBuildToolsAreSkippedLikeSkipProcesses()
    {
        var config = Load.Text("""{"skip_processes": "bash", "skip_extra_build_tools": ["bazel", "bash"]}""").Config;
        var off = Load.Text("""{"skip_build_tools": false, "skip_extra_build_tools": "bazel"}""").Config;

        Assert.Equal(["bash", "bazel"], config.SkipProcesses);
        Assert.Empty(off.SkipProcesses);
    }

    [Fact]
    public void EveryErrorOfAFileWithSeveralTyposIsReported()
    {
        var errors = Load.Errors("""{"agent": {"imgae": "x"}, "feature": {"network": {"outgoing": {"tcpp": true}}}, "kube_contxt": "a"}""");

        Assert.Equal(["agent.imgae", "feature.network.outgoing.tcpp", "kube_contxt"], errors.Select(e => e.KeyPath).Order(StringComparer.Ordinal));
    }

    private static TheoryData<string> Paths(MirrordOnlyHandling handling)
    {
        var data = new TheoryData<string>();
        foreach (var key in MirrordOnlyKeys.All.Where(k => k.Handling == handling))
        {
            data.Add(key.Path);
        }

        return data;
    }

    // The whole file on one line: {"a": {"b": VALUE}} with a value of the type mirrord takes there.
    private static string FileSetting(string path)
    {
        var key = MirrordOnlyKeys.Find(path)!;
        JsonNode value = key.Types[0] switch
        {
            "boolean" => false,
            "string" => "x",
            "integer" => 1,
            "array" => new JsonArray(),
            _ => new JsonObject(),
        };

        foreach (var segment in path.Split('.').Reverse())
        {
            value = new JsonObject { [segment] = value };
        }

        return value.ToJsonString();
    }
}
