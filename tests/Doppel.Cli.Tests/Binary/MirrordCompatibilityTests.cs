using System.Text.Json.Nodes;
using Doppel.Cli.Tests.Support;

namespace Doppel.Cli.Tests.Binary;

/// <summary>mirrord's flags, verify-config answer and env files, through the shipped executables.</summary>
public sealed class MirrordCompatibilityTests
{
    public static TheoryData<string> Binaries => DoppelBinaries.All;

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task MirrordsNoOpFlagsAndFsModeSpellingAreAccepted(string binary)
    {
        using var dir = new TempDir();

        var (code, stdout, stderr) = await DoppelBinaries.RunAsync(
            binary, dir.Path, new Dictionary<string, string>(), "exec", "--no-telemetry", "--disable-version-check", "--fs-mode", "local-with-overrides", "--", "echo", "ran");

        Assert.True(code == 0, stderr);
        Assert.Equal("ran\n", stdout);
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task ConfigFileFlagWithoutAValueLoadsDotMirrordMirrordJson(string binary)
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(Path.Combine(dir.Path, ".mirrord"));
        File.WriteAllText(Path.Combine(dir.Path, ".mirrord", "mirrord.json"), "{\"feature\": {\"fs\": {\"mode\": \"wirte\"}}}");
        File.WriteAllText(Path.Combine(dir.Path, "other.json"), "{}");
        var env = new Dictionary<string, string> { ["MIRRORD_CONFIG_FILE"] = Path.Combine(dir.Path, "other.json") };

        var withoutFlag = await DoppelBinaries.RunAsync(binary, dir.Path, env, "exec", "--", "true");
        var bareFlag = await DoppelBinaries.RunAsync(binary, dir.Path, env, "exec", "-f", "--no-telemetry", "true");

        Assert.True(withoutFlag.ExitCode == 0, withoutFlag.StdErr);
        Assert.Equal(ExitCodes.ConfigError, bareFlag.ExitCode);
        Assert.Matches(@"\.mirrord/mirrord\.json:1:\d+: feature\.fs\.mode: 'wirte' is not one of", bareFlag.StdErr);
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task VerifyConfigForIdesAnswersInMirrordsShape(string binary)
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "good.json"), """{"target": "pod/api-7d9/container/main", "feature": {"network": {"incoming": "steal"}}}""");
        File.WriteAllText(Path.Combine(dir.Path, "bad.json"), """{"feature": {"fs": 7}}""");
        var none = new Dictionary<string, string>();

        var good = await DoppelBinaries.RunAsync(binary, dir.Path, none, "verify-config", "--ide", "good.json");
        var resolved = await DoppelBinaries.RunAsync(binary, dir.Path, none, "verify-config", "--ide", "--resolved", "good.json");
        var bad = await DoppelBinaries.RunAsync(binary, dir.Path, none, "verify-config", "--ide", "bad.json");

        Assert.Equal((0, string.Empty), (good.ExitCode, good.StdErr));
        Assert.Equal(
            """{"type":"Success","config":{"path":{"pod":"api-7d9","container":"main"},"namespace":null},"warnings":[],"compatible_target_types":["targetless","pod","deployment","rollout","job","cronjob","statefulset","service","replicaset"]}""" + "\n",
            good.StdOut);
        Assert.Equal("steal", JsonNode.Parse(resolved.StdOut)!["resolved_config"]!["feature"]!["network"]!["incoming"]!["mode"]!.GetValue<string>());
        Assert.Equal(0, bad.ExitCode);
        var fail = JsonNode.Parse(bad.StdOut)!;
        Assert.Equal("Fail", fail["type"]!.GetValue<string>());
        Assert.Matches(@"^bad\.json:1:\d+: feature\.fs", fail["errors"]![0]!.GetValue<string>());
    }

    [Theory]
    [MemberData(nameof(Binaries))]
    public async Task ABrokenEnvFileStopsExecBeforeTheAgentStarts(string binary)
    {
        using var dir = new TempDir();
        var agentRan = Path.Combine(dir.Path, "agent-ran");
        var agent = Path.Combine(dir.Path, "fake-agent");
        File.WriteAllText(agent, $"#!/bin/sh\ntouch {agentRan}\nsleep 30\n");
        File.SetUnixFileMode(agent, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.WriteAllText(Path.Combine(dir.Path, "dev.env"), "# settings\nGREETING=hello world\n");
        var programRan = Path.Combine(dir.Path, "program-ran");

        var (code, _, stderr) = await DoppelBinaries.RunAsync(
            binary, dir.Path, new Dictionary<string, string> { ["DOPPEL_AGENT_BINARY"] = agent }, "exec", "-t", "targetless", "--env-file", "dev.env", "--", "touch", programRan);

        Assert.Equal(ExitCodes.ConfigError, code);
        Assert.Contains(
            $"{Path.Combine(dir.Path, "dev.env")}:2: the value has a blank in it ('GREETING=hello world'); quote a value that contains blanks, e.g. NAME=\"a b\". 'touch' was not started.",
            stderr,
            StringComparison.Ordinal);
        Assert.False(File.Exists(agentRan));
        Assert.False(File.Exists(programRan));
    }
}
