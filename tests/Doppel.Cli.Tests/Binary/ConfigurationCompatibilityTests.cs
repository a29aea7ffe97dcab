using System.Text.Json.Nodes;
using Doppel.Cli.Tests.Support;

namespace Doppel.Cli.Tests.Binary;

/// <summary>
/// mirrord configurations read as mirrord reads them, through the shipped executables:
/// <c>{{ key }}</c>, <c>"network": false</c>, empty agent strings, the target object form,
/// mirrord's key set, what needs a target, networks with host bits, syntax error excerpts.
/// </summary>
public sealed class ConfigurationCompatibilityTests
{
    private const string IssueKeyExample = """
        {"key": "team-a", "feature": {"network": {"incoming": {"mode": "steal", "http_filter": {"header_filter": "^baggage: .*session={{ key }}.*$"}}}}}
        """;

    private static readonly Dictionary<string, string> s_none = [];

    public static TheoryData<string> Binaries => DoppelBinaries.All;

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task SessionKeyIsRenderedFromTheFileTheEnvironmentOrTheKeyFlag(string binary)
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "k.json"), IssueKeyExample);
        var onBff = new Dictionary<string, string> { ["MIRRORD_IMPERSONATED_TARGET"] = "deployment/bff" };
        var fromEnv = new Dictionary<string, string>(onBff) { ["MIRRORD_KEY"] = "from-env" };

        var file = await DoppelBinaries.RunAsync(binary, dir.Path, onBff, "verify-config", "--resolved", "k.json");
        var env = await DoppelBinaries.RunAsync(binary, dir.Path, fromEnv, "verify-config", "--resolved", "k.json");

        Assert.True(file.ExitCode == 0, file.StdErr);
        Assert.Equal("^baggage: .*session=team-a.*$", HeaderFilter(file.StdOut));
        Assert.Equal("team-a", JsonNode.Parse(file.StdOut)!["resolved_config"]!["key"]!.GetValue<string>());
        Assert.Equal("^baggage: .*session=from-env.*$", HeaderFilter(env.StdOut));

        // -k reaches the template too: the rendered key shows in the error about the value it made.
        File.WriteAllText(Path.Combine(dir.Path, "level.json"), """{"agent": {"log_level": "{{ key }}"}}""");
        var flag = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "exec", "-k", "from-flag", "-f", "level.json", "--", "true");
        Assert.Equal(ExitCodes.ConfigError, flag.ExitCode);
        Assert.Contains("agent.log_level: 'from-flag' is not a log level", flag.StdErr, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task GeneratedKeyIsFiveHexDigitsAndTheTemplateSeesTheSameOne(string binary)
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "g.yaml"), "agent:\n  labels:\n    session: \"{{ key }}\"\n");

        var (code, stdout, stderr) = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "verify-config", "--resolved", "g.yaml");

        Assert.True(code == 0, stderr);
        var json = JsonNode.Parse(stdout)!["resolved_config"]!;
        var key = json["key"]!.GetValue<string>();
        Assert.Matches("^[0-9a-f]{5}$", key);
        Assert.Equal(key, json["agent"]!["labels"]!["session"]!.GetValue<string>());
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task NetworkFalseTurnsEveryNetworkFeatureOffAndTrueKeepsTheDefaults(string binary)
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "off.toml"), "[feature]\nnetwork = false\n");
        File.WriteAllText(Path.Combine(dir.Path, "on.json"), """{"feature": {"network": true}}""");

        var off = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "verify-config", "--resolved", "off.toml");
        var on = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "verify-config", "--resolved", "on.json");

        Assert.True(off.ExitCode == 0 && on.ExitCode == 0, off.StdErr + on.StdErr);
        var network = JsonNode.Parse(off.StdOut)!["resolved_config"]!["feature"]!["network"]!;
        Assert.Equal(("off", false, false, false), (network["incoming"]!["mode"]!.GetValue<string>(), network["outgoing"]!["tcp"]!.GetValue<bool>(), network["outgoing"]!["udp"]!.GetValue<bool>(), network["dns"]!["enabled"]!.GetValue<bool>()));
        var defaults = JsonNode.Parse(on.StdOut)!["resolved_config"]!["feature"]!["network"]!;
        Assert.Equal(("mirror", true), (defaults["incoming"]!["mode"]!.GetValue<string>(), defaults["dns"]!["enabled"]!.GetValue<bool>()));
        Assert.Equal(string.Empty, off.StdErr + on.StdErr);
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task EmptyAgentImageAndPullPolicyMeanNotSet(string binary)
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "a.json"), """{"agent": {"image": "", "image_pull_policy": ""}}""");

        var (code, stdout, stderr) = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "verify-config", "--resolved", "a.json");

        Assert.True(code == 0, stderr);
        Assert.Equal("IfNotPresent", JsonNode.Parse(stdout)!["resolved_config"]!["agent"]!["image_pull_policy"]!.GetValue<string>());
        Assert.Equal(string.Empty, stderr);
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task TargetObjectFormIsTheTargetForEveryKindNeverATargetlessRun(string binary)
    {
        using var dir = new TempDir();
        string[] keys = ["pod", "deployment", "rollout", "stateful_set", "job", "cron_job", "service", "replica_set"];
        string[] words = ["pod", "deployment", "rollout", "statefulset", "job", "cronjob", "service", "replicaset"];
        for (var i = 0; i < keys.Length; i++)
        {
            var withContainer = i % 2 == 0;
            var file = Path.Combine(dir.Path, $"t{i}.json");
            File.WriteAllText(file, withContainer
                ? $$$"""{"target": {"{{{keys[i]}}}": "web-0", "container": "app", "namespace": "dev"}}"""
                : $$$"""{"target": {"{{{keys[i]}}}": "bff"}}""");
            var marker = Path.Combine(dir.Path, $"ran-{i}");

            var verify = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "verify-config", "--resolved", file);
            var exec = await DoppelBinaries.RunAsync(binary, dir.Path, new Dictionary<string, string> { ["KUBECONFIG"] = Path.Combine(dir.Path, "no-kubeconfig") }, "exec", "-f", file, "--", "touch", marker);

            var expected = withContainer ? $"{words[i]}/web-0/container/app" : $"{words[i]}/bff";
            Assert.True(verify.ExitCode == 0, verify.StdErr);
            var target = JsonNode.Parse(verify.StdOut)!["resolved_config"]!["target"]!;
            Assert.Equal((expected, withContainer ? "dev" : null), (target["path"]!.GetValue<string>(), target["namespace"]?.GetValue<string>()));
            Assert.Equal(string.Empty, verify.StdErr);

            // The Kubernetes target is taken (so a cluster is looked for: here no kubeconfig), not dropped for a local run.
            Assert.Equal(ExitCodes.ConfigError, exec.ExitCode);
            Assert.Contains("None of the kubeconfig files KUBECONFIG names exists", exec.StdErr, StringComparison.Ordinal);
            Assert.False(File.Exists(marker));
        }
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task TypoIsAnErrorWithTheNearestKeyAndNothingRuns(string binary)
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "typo.json"), "{\n  \"feature\": {\n    \"netwrok\": false\n  }\n}\n");
        var marker = Path.Combine(dir.Path, "ran");

        var verify = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "verify-config", "--resolved", "typo.json");
        var exec = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "exec", "-f", "typo.json", "--", "touch", marker);

        Assert.Equal(ExitCodes.ConfigError, verify.ExitCode);
        Assert.Equal(string.Empty, verify.StdOut);
        Assert.Contains("typo.json:3:5: feature.netwrok: unknown key 'netwrok' in feature; did you mean 'network'?", verify.StdErr, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.ConfigError, exec.ExitCode);
        Assert.False(File.Exists(marker));
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task MirrordFeaturesDoppelDoesNotImplementLoadWithOneWarningEach(string binary)
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "m.json"), """
            {
              "target": "deployment/bff",
              "feature": {"copy_target": {"scale_down": true}, "split_queues": {"q": {"queue_type": "SQS"}}, "magic": {"aws": false}},
              "internal_proxy": {"idle_timeout": 5, "log_level": "debug"},
              "agent": {"metrics": "0.0.0.0:9000", "exclude_from_mesh": true},
              "container": {"cli_image": "x"},
              "baggage": "a=b",
              "ci": {"output_dir": "/tmp"}
            }
            """);

        var (code, stdout, stderr) = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "verify-config", "--resolved", "m.json");

        Assert.True(code == 0, stderr);
        Assert.NotNull(JsonNode.Parse(stdout));
        var warnings = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(9, warnings.Length);
        Assert.All(warnings, w => Assert.Contains(": a mirrord feature that doppel does not implement yet; ", w, StringComparison.Ordinal));
        Assert.Contains("warning: m.json:3:15: feature.copy_target: a mirrord feature that doppel does not implement yet; the session uses the target pod itself, not a copy of it.", warnings);
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task SchemaListsMirrordKeysDoppelDoesNotImplement(string binary)
    {
        var (code, stdout, _) = await DoppelBinaries.RunAsync(binary, RepoPaths.Root, s_none, "schema");

        Assert.Equal(0, code);
        var properties = JsonNode.Parse(stdout)!["properties"]!;
        foreach (var key in new[] { "internal_proxy", "external_proxy", "container", "ci", "baggage", "experimental", "profile" })
        {
            Assert.Contains("doppel", properties[key]!["description"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        Assert.NotNull(properties["feature"]!["properties"]!["db_branches"]);
        Assert.NotNull(properties["agent"]!["properties"]!["metrics"]);
        Assert.Equal("boolean", properties["feature"]!["properties"]!["network"]!["anyOf"]![0]!["type"]!.GetValue<string>());
        Assert.NotNull(properties["target"]!["anyOf"]![1]!["properties"]!["stateful_set"]);
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task StealOrCopyTargetWithoutATargetIsAnErrorOutsideIdeMode(string binary)
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "s.json"), IssueKeyExample);
        File.WriteAllText(Path.Combine(dir.Path, "c.json"), """{"feature": {"copy_target": true}}""");
        var marker = Path.Combine(dir.Path, "ran");

        var verify = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "verify-config", "--resolved", "s.json");
        var ide = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "verify-config", "--ide", "s.json");
        var copy = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "verify-config", "--resolved", "c.json");
        var stealFlag = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "exec", "--steal", "--", "touch", marker);

        Assert.Equal(ExitCodes.ConfigError, verify.ExitCode);
        Assert.Contains("feature.network.incoming.mode: steal takes traffic from a target's pod, but no target is given", verify.StdErr, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Success, ide.ExitCode);
        Assert.Equal(ExitCodes.ConfigError, copy.ExitCode);
        Assert.Contains("feature.copy_target: copy_target copies the target's pod, but no target is given", copy.StdErr, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.ConfigError, stealFlag.ExitCode);
        Assert.Contains("--steal: feature.network.incoming.mode: steal takes traffic", stealFlag.StdErr, StringComparison.Ordinal);
        Assert.False(File.Exists(marker));
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task EmptyHttpFilterIsAnError(string binary)
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "f.yaml"), "target: pod/web\nfeature:\n  network:\n    incoming:\n      mode: steal\n      http_filter:\n        header_filter: \"\"\n");

        var (code, _, stderr) = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "verify-config", "--resolved", "f.yaml");

        Assert.Equal(ExitCodes.ConfigError, code);
        Assert.Contains("f.yaml:7:9: feature.network.incoming.http_filter.header_filter: the header_filter is empty, so it would match every request", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task NetworkWithHostBitsSetIsAccepted(string binary)
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "n.json"), """{"feature": {"network": {"outgoing": {"filter": {"local": ["127.0.0.1/8", "tcp://10.1.2.3/16:5432"]}}}}}""");

        var (code, stdout, stderr) = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "verify-config", "--resolved", "n.json");

        Assert.True(code == 0, stderr);
        Assert.Equal(string.Empty, stderr);
        Assert.Equal(2, JsonNode.Parse(stdout)!["resolved_config"]!["feature"]!["network"]!["outgoing"]!["filter"]!["local"]!.AsArray().Count);
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task SyntaxErrorsShowTheLineWithACaret(string binary)
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "bad.json"), "{\n  \"feature\": {\n    \"fs\": \"read\"\n    \"env\": true\n  }\n}\n");
        File.WriteAllText(Path.Combine(dir.Path, "bad.yaml"), "feature:\n  fs: read\n   env: true\n");
        File.WriteAllText(Path.Combine(dir.Path, "bad.toml"), "[feature]\nfs = \"read\"\nenv = \n");

        foreach (var (name, line, text) in new[] { ("bad.json", 4, "    \"env\": true"), ("bad.yaml", 3, "   env: true"), ("bad.toml", 3, "env = ") })
        {
            var (code, stdout, stderr) = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "verify-config", "--resolved", name);

            Assert.Equal(ExitCodes.ConfigError, code);
            Assert.Equal(string.Empty, stdout);
            var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(3, lines.Length);
            var column = int.Parse(lines[0].Split(':')[3], System.Globalization.CultureInfo.InvariantCulture);
            Assert.StartsWith($"error: {name}:{line}:{column}: The file is not valid ", lines[0], StringComparison.Ordinal);
            Assert.Equal($"   {line} | {text}", lines[1]);
            Assert.Equal($"     | {new string(' ', column - 1)}^", lines[2]);
        }
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task TheAgentLogLevelFlagTakesTheWordsDoppelLogTakes(string binary)
    {
        using var dir = new TempDir();
        foreach (var word in new[] { "warn", "warning", "none", "info,doppel_agent=warning" })
        {
            var flag = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "exec", "-l", word, "--", "true");
            var variable = await DoppelBinaries.RunAsync(binary, dir.Path, new Dictionary<string, string> { ["DOPPEL_LOG"] = word }, "exec", "--", "true");

            Assert.True(flag.ExitCode == 0, $"-l {word}: {flag.StdErr}");
            Assert.True(variable.ExitCode == 0, $"DOPPEL_LOG={word}: {variable.StdErr}");
            Assert.DoesNotContain("is not a log level", variable.StdErr, StringComparison.Ordinal);
        }

        var typo = await DoppelBinaries.RunAsync(binary, dir.Path, s_none, "exec", "-l", "warnign", "--", "true");
        Assert.Equal(ExitCodes.ConfigError, typo.ExitCode);
        Assert.Contains("agent.log_level: 'warnign' is not a log level; use trace, debug, info, warn, error or off", typo.StdErr, StringComparison.Ordinal);
    }

    private static string HeaderFilter(string stdout) =>
        JsonNode.Parse(stdout)!["resolved_config"]!["feature"]!["network"]!["incoming"]!["http_filter"]!["header_filter"]!.GetValue<string>();
}
