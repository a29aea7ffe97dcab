using Doppel.Config.Tests.Support;

namespace Doppel.Config.Tests.Resolution;

/// <summary>
/// Broken configurations as people write them. Each must fail with the key path the user wrote,
/// the line (and column) where it is, and a sentence that says what to do.
/// </summary>
public sealed class BrokenConfigTests
{
    public static TheoryData<string, string, string, int, string> Cases => new()
    {
        // name, file text, key path, line, a phrase the message must contain
        { "fs mode typo", "{\n  \"feature\": {\n    \"fs\": {\"mode\": \"wirte\"}\n  }\n}", "feature.fs.mode", 3, "'wirte' is not one of local, localwithoverrides, read, write" },
        { "fs shorthand typo", "{\n  \"feature\": {\n    \"fs\": \"wirte\"\n  }\n}", "feature.fs", 3, "'wirte' is not one of" },
        { "fs wrong type", "{\"feature\": {\n\"fs\": 3}}", "feature.fs", 2, "expected true, false, a mode" },
        { "incoming mode typo", "{\"feature\": {\"network\": {\n  \"incoming\": {\"mode\": \"steel\"}}}}", "feature.network.incoming.mode", 2, "'steel' is not one of mirror, steal, off" },
        { "incoming shorthand typo", "{\"feature\": {\"network\": {\n\n  \"incoming\": \"stael\"}}}", "feature.network.incoming", 3, "'stael'" },
        { "invalid header regex", "{\"feature\": {\"network\": {\"incoming\": {\n  \"mode\": \"steal\",\n  \"http_filter\": {\"header_filter\": \"^x-user: (me$\"}}}}}", "feature.network.incoming.http_filter.header_filter", 3, "a '(' is not closed" },
        { "invalid path regex", "{\"feature\": {\"network\": {\"incoming\": {\"http_filter\": {\n\"path_filter\": \"/api/[v1\"}}}}}", "feature.network.incoming.http_filter.path_filter", 2, "a '[' is not closed" },
        { "empty all_of", "{\"feature\": {\"network\": {\"incoming\": {\"http_filter\": {\n\n\"all_of\": []}}}}}", "feature.network.incoming.http_filter.all_of", 3, "all_of is empty" },
        { "empty any_of", "{\"feature\": {\"network\": {\"incoming\": {\"http_filter\": {\n\"any_of\": []}}}}}", "feature.network.incoming.http_filter.any_of", 2, "any_of is empty" },
        { "rule with two keys", "{\"feature\": {\"network\": {\"incoming\": {\"http_filter\": {\"any_of\": [\n  {\"header\": \"a\", \"path\": \"b\"}]}}}}}", "feature.network.incoming.http_filter.any_of[0]", 2, "exactly one of header, path or method" },
        { "bad regex inside all_of", "{\"feature\": {\"network\": {\"incoming\": {\"http_filter\": {\"all_of\": [\n  {\"header\": \"ok\"},\n  {\"path\": \"*api\"}]}}}}}", "feature.network.incoming.http_filter.all_of[1].path", 3, "a quantifier such as '*' or '+' follows nothing" },
        { "body filter of an unknown format", "{\"feature\": {\"network\": {\"incoming\": {\"http_filter\": {\"body_filter\": {\n\"body\": \"xml\", \"query\": \"$.a\", \"matches\": \"x\"}}}}}}", "feature.network.incoming.http_filter.body_filter.body", 2, "'xml' is not a body format doppel knows" },
        { "body filter without query", "{\"feature\": {\"network\": {\"incoming\": {\"http_filter\": {\n\"body_filter\": {\"body\": \"json\", \"matches\": \"x\"}}}}}}", "feature.network.incoming.http_filter.body_filter", 2, "the body filter has no query" },
        { "body filter with a bad regex", "{\"feature\": {\"network\": {\"incoming\": {\"http_filter\": {\"body_filter\": {\"body\": \"json\", \"query\": \"$.a\",\n\n\"matches\": \"(x\"}}}}}}", "feature.network.incoming.http_filter.body_filter.matches", 3, "a '(' is not closed" },
        { "body filter that is a string", "{\"feature\": {\"network\": {\"incoming\": {\"http_filter\": {\n\"body_filter\": \"json\"}}}}}", "feature.network.incoming.http_filter.body_filter", 2, "expected an object such as {\"body\": \"json\"" },
        { "body rule query without root", "{\"feature\": {\"network\": {\"incoming\": {\"http_filter\": {\"any_of\": [\n  {\"header\": \"a\"},\n  {\"body\": \"json\", \"query\": \"user.id\", \"matches\": \"1\"}]}}}}}", "feature.network.incoming.http_filter.any_of[1].query", 3, "a JSONPath query starts with '$'" },
        { "body rule with an empty matches", "{\"feature\": {\"network\": {\"incoming\": {\"http_filter\": {\"all_of\": [\n  {\"body\": \"json\", \"query\": \"$.a\", \"matches\": \"\"}]}}}}}", "feature.network.incoming.http_filter.all_of[0].matches", 2, "the matches is empty" },
        { "body filter with another kind", "{\"feature\": {\"network\": {\"incoming\": {\"http_filter\": {\"header_filter\": \"a\",\n\"body_filter\": {\"body\": \"json\", \"query\": \"$.a\", \"matches\": \"x\"}}}}}}", "feature.network.incoming.http_filter.body_filter", 2, "header_filter and body_filter cannot be combined" },
        { "two filter kinds", "{\"feature\": {\"network\": {\"incoming\": {\"http_filter\": {\n\"header_filter\": \"a\",\n\"path_filter\": \"b\"}}}}}", "feature.network.incoming.http_filter.path_filter", 3, "header_filter and path_filter cannot be combined" },
        { "ports with ignore_ports", "{\"feature\": {\"network\": {\"incoming\": {\n\"ports\": [80],\n\"ignore_ports\": [9090]}}}}", "feature.network.incoming.ignore_ports", 3, "ports and ignore_ports cannot both be set" },
        { "outgoing remote and local", "{\"feature\": {\"network\": {\"outgoing\": {\"filter\": {\n\"remote\": [\"a\"],\n\"local\": [\"b\"]}}}}}", "feature.network.outgoing.filter.local", 3, "remote and local cannot both be set" },
        { "outgoing bad port", "{\"feature\": {\"network\": {\"outgoing\": {\"filter\": {\"remote\": [\n  \"db:5432\",\n  \"api:99999\"]}}}}}", "feature.network.outgoing.filter.remote[1]", 3, "a port is a number from 1 to 65535" },
        { "outgoing bad protocol", "{\"feature\": {\"network\": {\"outgoing\": {\"filter\": {\"local\": [\n  \"http://db\"]}}}}}", "feature.network.outgoing.filter.local[0]", 2, "only tcp:// and udp:// are known" },
        { "outgoing bad cidr", "{\"feature\": {\"network\": {\"outgoing\": {\"filter\": {\"local\": [\n  \"10.0.0.0/33\"]}}}}}", "feature.network.outgoing.filter.local[0]", 2, "not a valid network" },
        { "dns filter empty", "{\"feature\": {\"network\": {\n\"dns\": {\"filter\": {}}}}}", "feature.network.dns.filter", 2, "the filter is empty" },
        { "malformed target", "{\n  \"target\": \"deploymnt/bff\"\n}", "target", 2, "is not a target; use targetless, pod/NAME" },
        { "target missing name", "{\"target\": {\n  \"path\": \"pod/\"}}", "target.path", 2, "names no pod" },
        { "target bad container part", "{\"target\": {\n  \"path\": \"pod/x/containr/y\"}}", "target.path", 2, "write pod/NAME or pod/NAME/container/CONTAINER" },
        { "target pid not a number", "{\n\"target\": \"pid/abc\"}", "target", 2, "positive process id" },
        { "target object two kinds", "{\"target\": {\n  \"path\": {\"pod\": \"a\", \"deployment\": \"b\"}}}", "target.path", 2, "names pod and deployment; give exactly one" },
        { "target wrong type", "{\n\"target\": 42}", "target", 2, "expected a target string" },
        { "bool as string", "{\"feature\": {\n  \"hostname\": \"yes\"}}", "feature.hostname", 2, "expected true or false, found the string \"yes\"" },
        { "ttl out of range", "{\"agent\": {\n\n  \"ttl\": -5}}", "agent.ttl", 3, "-5 is out of range" },
        { "startup timeout not a number", "{\"agent\": {\n  \"startup_timeout\": \"60s\"}}", "agent.startup_timeout", 2, "expected a whole number" },
        { "unknown capability", "{\"agent\": {\"disabled_capabilities\": [\n  \"NET_ADMIN\",\n  \"NET_RAWW\"]}}", "agent.disabled_capabilities[1]", 3, "only NET_ADMIN, SYS_PTRACE, SYS_ADMIN can be disabled" },
        { "bad log level", "{\"agent\": {\n  \"log_level\": \"verbose\"}}", "agent.log_level", 2, "'verbose' is not a log level" },
        { "bad pull policy", "{\"agent\": {\n  \"image_pull_policy\": \"Sometimes\"}}", "agent.image_pull_policy", 2, "'Sometimes' is not one of Always, IfNotPresent, Never" },
        { "port mapping not pairs", "{\"feature\": {\"network\": {\"incoming\": {\"port_mapping\": [\n  [8080]]}}}}", "feature.network.incoming.port_mapping[0]", 2, "expected a pair [local, remote]" },
        { "port out of range", "{\"feature\": {\"network\": {\"incoming\": {\"ports\": [\n  80,\n  70000]}}}}", "feature.network.incoming.ports[1]", 3, "70000 is out of range" },
        { "fs read_only bad regex", "{\"feature\": {\"fs\": {\"read_only\": [\n  \"^/data\",\n  \"^/etc/(ssl\"]}}}", "feature.fs.read_only[1]", 3, "a '(' is not closed" },
        { "env include and exclude", "{\"feature\": {\"env\": {\n  \"include\": \"A\",\n  \"exclude\": \"B\"}}}", "feature.env.exclude", 3, "include and exclude cannot both be set" },
        { "env override not strings", "{\"feature\": {\"env\": {\"override\": {\n  \"A\": [1]}}}}", "feature.env.override.A", 2, "expected a string, found a list" },
        { "startup retry inverted", "{\"startup_retry\": {\n  \"min_ms\": 9000,\n  \"max_ms\": 100}}", "startup_retry.min_ms", 2, "min_ms (9000) is larger than max_ms (100)" },
        { "skip_processes wrong type", "{\n  \"skip_processes\": 5}", "skip_processes", 2, "expected a list of strings" },
        { "feature not an object", "{\n  \"feature\": [\"env\"]}", "feature", 2, "expected an object, found a list" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void BrokenConfigurationNamesKeyPathAndLine(string name, string text, string keyPath, int line, string phrase)
    {
        var errors = Load.Errors(text);

        var error = Assert.Single(errors, e => e.KeyPath == keyPath);
        Assert.True(error.Position is not null, $"{name}: no position in '{error}'");
        Assert.Equal(line, error.Position.Value.Line);
        Assert.EndsWith("doppel.json", error.File, StringComparison.Ordinal);
        Assert.Contains(phrase, error.Message, StringComparison.Ordinal);
        Assert.Contains($"doppel.json:{line}:", error.ToString(), StringComparison.Ordinal);
        Assert.Contains($": {keyPath}: ", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void EveryErrorOfAFileIsReportedAtOnce()
    {
        var errors = Load.Errors("{\"feature\": {\"fs\": \"wirte\", \"network\": {\"incoming\": \"stael\"}}, \"agent\": {\"ttl\": \"x\"}}");

        Assert.Equal(["agent.ttl", "feature.fs", "feature.network.incoming"], errors.Select(e => e.KeyPath).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void UnknownKeysAreErrorsWithTheNearestKnownKey()
    {
        var errors = Load.Errors("{\n  \"feature\": {\n    \"netwrok\": {},\n    \"fs\": {\"mdoe\": \"read\"}\n  },\n  \"tagret\": \"pod/x\"\n}");

        Assert.Collection(
            errors.OrderBy(e => e.Position!.Value.Line),
            e => Assert.Equal(("feature.netwrok", 3, "did you mean 'network'?"), (e.KeyPath, e.Position!.Value.Line, e.Message[^23..])),
            e => Assert.Equal(("feature.fs.mdoe", 4, "did you mean 'mode'?"), (e.KeyPath, e.Position!.Value.Line, e.Message[^20..])),
            e => Assert.Equal(("tagret", 6, "did you mean 'target'?"), (e.KeyPath, e.Position!.Value.Line, e.Message[^22..])));
    }

    [Fact]
    public void UnknownKeyFarFromAnyKnownKeyListsTheKnownKeys()
    {
        var error = Assert.Single(Load.Errors("{\"agent\": {\"resources\": {\"gpu\": 1}}}"));

        Assert.Equal("agent.resources.gpu", error.KeyPath);
        Assert.Contains("the keys there are claims, limits, requests", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ExperimentalSwitchesAreWarnedNotSilentlyIgnored()
    {
        var warning = Assert.Single(Load.Text("{\n\"experimental\": {\n  \"tcp_ping4_mock\": true}}").Warnings);

        Assert.Equal("experimental.tcp_ping4_mock", warning.KeyPath);
        Assert.Equal(3, warning.Position!.Value.Line);
    }

    [Fact]
    public void ErrorsFromTheEnvironmentNameTheVariable()
    {
        var errors = Load.Errors("{}", env: new Dictionary<string, string> { ["MIRRORD_FILE_MODE"] = "wirte" });

        var error = Assert.Single(errors);
        Assert.Equal("environment variable MIRRORD_FILE_MODE: feature.fs.mode: 'wirte' is not one of local, localwithoverrides, read, write.", error.ToString());
    }

    [Fact]
    public void ErrorsFromFlagsNameTheFlag()
    {
        var errors = Load.Errors("{}", flags: [new ConfigOverride("target.path", "deploymnt/x", "--target")]);

        Assert.StartsWith("--target: target.path: 'deploymnt/x' is not a target", Assert.Single(errors).ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void YamlAndTomlErrorsCarryTheirLinesToo()
    {
        var yaml = Assert.Single(Load.Errors("feature:\n  network:\n    incoming:\n      mode: steel\n", "mirrord.yaml"));
        var toml = Assert.Single(Load.Errors("[feature.network.incoming]\n\nmode = \"steel\"\n", "mirrord.toml"));

        Assert.Equal(("feature.network.incoming.mode", 4), (yaml.KeyPath, yaml.Position!.Value.Line));
        Assert.Equal(("feature.network.incoming.mode", 3), (toml.KeyPath, toml.Position!.Value.Line));
    }

    [Fact]
    public void TemplateErrorsNameTheVariableAndLine()
    {
        var error = Assert.Single(Load.Errors("{\n  \"key\": \"{{ get_env(name=\\\"DOPPEL_TEST_UNSET\\\") }}\"\n}"));

        Assert.Equal(2, error.Position!.Value.Line);
        Assert.Contains("DOPPEL_TEST_UNSET", error.Message, StringComparison.Ordinal);
    }
}
