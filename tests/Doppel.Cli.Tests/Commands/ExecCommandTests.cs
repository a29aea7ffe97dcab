using System.CommandLine;
using Doppel.Cli.Commands;
using Doppel.Cli.Tests.Support;
using Doppel.Config;

namespace Doppel.Cli.Tests.Commands;

public sealed class ExecCommandTests
{
    private static IReadOnlyList<ConfigOverride> OverridesOf(params string[] args)
    {
        var root = DoppelCli.BuildRoot(new CliEnvironment(_ => null, ".", new TestConsole(), false), Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        var result = root.Parse(ExecArguments.Prepare(["exec", .. args], root));
        Assert.Empty(result.Errors);
        return ExecCommand.Overrides(result);
    }

    private static DoppelConfig Resolve(string fileText, IReadOnlyDictionary<string, string> env, params string[] args)
    {
        using var dir = new TempDir();
        var file = Path.Combine(dir.Path, "mirrord.json");
        File.WriteAllText(file, fileText);
        return ConfigLoader.Load(new ConfigLoadOptions
        {
            ConfigFile = file,
            Environment = n => env.TryGetValue(n, out var v) ? v : null,
            FlagOverrides = OverridesOf(args),
            WorkingDirectory = dir.Path,
        }).Config;
    }

    [Fact]
    public void FlagBeatsEnvironmentBeatsFile()
    {
        const string file = """{"feature": {"fs": "read"}, "agent": {"ttl": 5, "namespace": "file", "log_level": "warn"}}""";
        var env = new Dictionary<string, string> { ["MIRRORD_FILE_MODE"] = "write", ["MIRRORD_AGENT_NAMESPACE"] = "env", ["MIRRORD_AGENT_TTL"] = "9" };

        var config = Resolve(file, env, "--fs-mode", "local", "--agent-ttl", "30", "--", "true");

        Assert.Equal(FsMode.Local, config.Feature.Fs.Mode);  // flag
        Assert.Equal(30, config.Agent.Ttl);                    // flag
        Assert.Equal("env", config.Agent.Namespace);           // environment
        Assert.Equal("warn", config.Agent.LogLevel);           // file
    }

    [Fact]
    public void EveryMirrordExecFlagLandsOnItsKey()
    {
        var config = Resolve("{}", new Dictionary<string, string>(),
            "-t", "deployment/bff/container/app", "-n", "dev", "--context", "kind", "--env-file", ".env", "-k", "team",
            "--fs-mode", "write", "-s", "A;B", "-s", "C", "--steal", "--no-tcp-outgoing", "--no-remote-dns",
            "--skip-processes", "bash;make", "-c", "-a", "agents", "-l", "debug", "-i", "img:1", "--agent-ttl", "7",
            "--agent-startup-timeout", "90", "-e", "npm", "run", "dev");

        Assert.Equal("deployment/bff/container/app", config.Target!.Path);
        Assert.Equal("dev", config.Target.Namespace);
        Assert.Equal("kind", config.KubeContext);
        Assert.Equal(".env", config.Feature.Env.EnvFile);
        Assert.Equal("team", config.Key);
        Assert.Equal(FsMode.Write, config.Feature.Fs.Mode);
        Assert.Equal(["A", "B", "C"], config.Feature.Env.Include);
        Assert.Equal(IncomingMode.Steal, config.Feature.Network.Incoming.Mode);
        Assert.False(config.Feature.Network.Outgoing.Tcp);
        Assert.True(config.Feature.Network.Outgoing.Udp);
        Assert.False(config.Feature.Network.Dns.Enabled);
        Assert.Equal(["bash", "make"], config.SkipProcesses);
        Assert.True(config.AcceptInvalidCertificates);
        Assert.Equal("agents", config.Agent.Namespace);
        Assert.Equal("debug", config.Agent.LogLevel);
        Assert.Equal(("img", "1"), (config.Agent.Image.Registry, config.Agent.Image.Tag));
        Assert.Equal(7, config.Agent.Ttl);
        Assert.Equal(90, config.Agent.StartupTimeout);
        Assert.True(config.Agent.Ephemeral);
    }

    [Fact]
    public void NoOutgoingTurnsOffTcpAndUdp()
    {
        var config = Resolve("{}", new Dictionary<string, string>(), "--no-outgoing", "--", "true");

        Assert.False(config.Feature.Network.Outgoing.Tcp);
        Assert.False(config.Feature.Network.Outgoing.Udp);
    }

    [Theory]
    [InlineData("local-with-overrides", FsMode.LocalWithOverrides)]
    [InlineData("localwithoverrides", FsMode.LocalWithOverrides)]
    [InlineData("read", FsMode.Read)]
    public void FsModeTakesMirrordsCliSpellingAndTheConfigFilesOne(string given, FsMode expected)
    {
        var config = Resolve("{}", new Dictionary<string, string>(), "--fs-mode", given, "--", "true");

        Assert.Equal(expected, config.Feature.Fs.Mode);
    }

    [Theory]
    [InlineData("-C")]
    [InlineData("--cwd")]
    public void CwdFlagTakesADirectoryAndSetsNoConfigurationKey(string flag)
    {
        Assert.Empty(OverridesOf(flag, "/app/site", "--", "pwd"));
    }

    [Fact]
    public void TelemetryAndVersionCheckFlagsAreAcceptedAndChangeNothing()
    {
        Assert.Empty(OverridesOf("--no-telemetry", "--disable-version-check", "--", "true"));
    }

    [Theory]
    [InlineData(new[] { "exec", "-f", "-t", "pod/x", "npm", "start" }, "./.mirrord/mirrord.json", "npm")]
    [InlineData(new[] { "exec", "-t", "pod/x", "-f", "--", "npm", "start" }, "./.mirrord/mirrord.json", "npm")]
    [InlineData(new[] { "exec", "-f", "dev.json", "npm", "start" }, "dev.json", "npm")]
    [InlineData(new[] { "exec", "--config-file=dev.json", "npm" }, "dev.json", "npm")]
    public void ConfigFileFlagWithoutAValueMeansTheDefaultFile(string[] args, string file, string program)
    {
        var root = DoppelCli.BuildRoot(new CliEnvironment(_ => null, ".", new TestConsole(), false), Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);

        var result = root.Parse(ExecArguments.Prepare(args, root));

        Assert.Empty(result.Errors);
        Assert.Empty(ExecArguments.UnknownOptions(args, root));
        Assert.Equal(file, result.GetValue(ExecCommand.ConfigFile));
        Assert.Equal(program, result.GetValue(ExecCommand.CommandLine)![0]);
    }

    [Fact]
    public void ProgramArgumentsThatLookLikeFlagsBelongToTheProgram()
    {
        var root = DoppelCli.BuildRoot(new CliEnvironment(_ => null, ".", new TestConsole(), false), Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);

        var prepared = ExecArguments.Prepare(["-v", "exec", "-t", "pod/x", "--steal", "npm", "run", "dev", "--port", "3000", "-t", "y"], root);
        var result = root.Parse(prepared);

        Assert.Empty(result.Errors);
        Assert.Equal(["npm", "run", "dev", "--port", "3000", "-t", "y"], result.GetValue(ExecCommand.CommandLine)!);
        Assert.Equal("pod/x", result.GetValue(ExecCommand.Target));
    }

    [Fact]
    public void AnExplicitDoubleDashIsKept()
    {
        var root = DoppelCli.BuildRoot(new CliEnvironment(_ => null, ".", new TestConsole(), false), Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);

        var args = new[] { "exec", "-t", "pod/x", "--", "ls", "-l" };

        Assert.Equal(args, ExecArguments.Prepare(args, root));
    }

    [Fact]
    public async Task AKubernetesTargetWithoutAKubeconfigIsOneSentenceAndExit2()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"doppel-no-kubeconfig-{Guid.NewGuid():N}");
        var (code, console) = await CliRunner.RunAsync(new Dictionary<string, string> { ["KUBECONFIG"] = missing }, AppContext.BaseDirectory, "exec", "-t", "pod/x", "--", "true");

        Assert.Equal(ExitCodes.ConfigError, code);
        Assert.Equal($"error: None of the kubeconfig files KUBECONFIG names exists ({missing}). 'true' was not started.\n", console.StdErr);
    }

    [Fact]
    public async Task ExecReportsABrokenConfigurationBeforeAnythingElse()
    {
        var (code, console) = await CliRunner.RunAsync("exec", "-t", "deploymnt/x", "--", "true");

        Assert.Equal(ExitCodes.ConfigError, code);
        Assert.StartsWith("error: --target: target.path: 'deploymnt/x' is not a target", console.StdErr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("exec", "--fs-mode", "wrong", "ls")]
    [InlineData("exec", "--no-such-flag", "--", "ls")]
    [InlineData("exec")]
    [InlineData("no-such-command")]
    public async Task UsageErrorsExitWithTwoAndPointAtHelp(params string[] args)
    {
        var (code, console) = await CliRunner.RunAsync(args);

        Assert.Equal(ExitCodes.ConfigError, code);
        Assert.Contains("error: ", console.StdErr, StringComparison.Ordinal);
        Assert.Contains("--help' to see the usage.", console.StdErr, StringComparison.Ordinal);
    }
}
