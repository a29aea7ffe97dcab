using Doppel.Config.Tests.Support;
using System.Text.Json.Nodes;

namespace Doppel.Config.Tests.Resolution;

/// <summary>Built-in defaults &lt; file &lt; environment &lt; CLI flags.</summary>
public sealed class PrecedenceTests
{
    private const string File = """{"feature": {"fs": "read"}, "agent": {"ttl": 10, "namespace": "from-file"}}""";

    private static ConfigOverride Flag(string path, JsonNode value, string flag) => new(path, value, flag);

    [Fact]
    public void DefaultsApplyWhereNothingIsSaid()
    {
        var config = Load.Text("{}").Config;

        Assert.Equal(FsMode.Read, config.Feature.Fs.Mode);
        Assert.Equal(IncomingMode.Mirror, config.Feature.Network.Incoming.Mode);
        Assert.Equal(1, config.Agent.Ttl);
        Assert.Equal(60, config.Agent.StartupTimeout);
        Assert.Equal(128_000, config.Feature.Fs.ReadonlyFileBuffer);
        Assert.True(config.SkipBuildTools);
        Assert.Equal(500, config.StartupRetry.MinMs);
    }

    [Fact]
    public void FileBeatsDefaults()
    {
        Assert.Equal(10, Load.Text(File).Config.Agent.Ttl);
    }

    [Fact]
    public void EnvironmentBeatsFile()
    {
        var env = new Dictionary<string, string> { ["MIRRORD_FILE_MODE"] = "write", ["MIRRORD_AGENT_TTL"] = "20" };

        var config = Load.Text(File, env: env).Config;

        Assert.Equal(FsMode.Write, config.Feature.Fs.Mode);
        Assert.Equal(20, config.Agent.Ttl);
        Assert.Equal("from-file", config.Agent.Namespace);
    }

    [Fact]
    public void FlagBeatsEnvironmentBeatsFile()
    {
        var env = new Dictionary<string, string> { ["MIRRORD_FILE_MODE"] = "write", ["MIRRORD_AGENT_NAMESPACE"] = "from-env" };
        var flags = new[] { Flag("feature.fs.mode", "local", "--fs-mode") };

        var config = Load.Text(File, env: env, flags: flags).Config;

        Assert.Equal(FsMode.Local, config.Feature.Fs.Mode);
        Assert.Equal("from-env", config.Agent.Namespace);
    }

    [Fact]
    public void DoppelVariablesBeatTheirMirrordTwins()
    {
        var env = new Dictionary<string, string> { ["MIRRORD_AGENT_NAMESPACE"] = "mirrord", ["DOPPEL_AGENT_NAMESPACE"] = "doppel" };

        Assert.Equal("doppel", Load.Text("{}", env: env).Config.Agent.Namespace);
    }

    [Fact]
    public void TargetFlagReplacesTheFilesTargetButKeepsItsNamespace()
    {
        var flags = new[] { Flag("target.path", "pod/other", "--target") };

        var target = Load.Text("""{"target": {"path": "deployment/x", "namespace": "dev"}}""", flags: flags).Config.Target!;

        Assert.Equal("pod/other", target.Path);
        Assert.Equal("dev", target.Namespace);
    }

    [Fact]
    public void FlagsReachIntoShorthandForms()
    {
        var flags = new[] { Flag("feature.network.incoming.mode", "steal", "--steal"), Flag("feature.network.outgoing.udp", false, "--no-udp-outgoing") };

        var config = Load.Text("""{"target": "pod/web", "feature": {"network": {"incoming": "mirror", "outgoing": true}}}""", flags: flags).Config;

        Assert.Equal(IncomingMode.Steal, config.Feature.Network.Incoming.Mode);
        Assert.True(config.Feature.Network.Outgoing.Tcp);
        Assert.False(config.Feature.Network.Outgoing.Udp);
    }

    [Fact]
    public void StealVariableMeansStealMode()
    {
        var env = new Dictionary<string, string> { ["MIRRORD_AGENT_TCP_STEAL_TRAFFIC"] = "true" };

        Assert.Equal(IncomingMode.Steal, Load.Text("""{"target": "pod/web"}""", env: env).Config.Feature.Network.Incoming.Mode);
    }

    [Fact]
    public void KeyComesFromFlagThenEnvironmentThenFileThenIsGenerated()
    {
        Assert.Matches("^[0-9a-f]{5}$", Load.Text("{}").Config.Key);
        Assert.Equal("file", Load.Text("""{"key": "file"}""").Config.Key);
        Assert.Equal("env", Load.Text("""{"key": "file"}""", env: new Dictionary<string, string> { ["MIRRORD_KEY"] = "env" }).Config.Key);
        Assert.Equal("flag", Load.Text("""{"key": "file"}""", env: new Dictionary<string, string> { ["MIRRORD_KEY"] = "env" }, flags: [Flag("key", "flag", "--key")]).Config.Key);
    }

    [Fact]
    public void TemplateKeyVariableIsTheSessionKey()
    {
        var config = Load.Text("""{"agent": {"labels": {"session": "{{ key }}"}}}""", flags: [Flag("key", "team-a", "--key")]).Config;

        Assert.Equal("team-a", config.Agent.Labels["session"]);
    }

    [Fact]
    public void ConfigFileComesFromTheEnvironmentWhenNoFlagGivesOne()
    {
        using var dir = new TempConfigDirectory();
        dir.Write("from-env.toml", "[agent]\nttl = 7\n");
        dir.Write(".mirrord/mirrord.json", """{"agent": {"ttl": 3}}""");

        LoadedConfig Run(Dictionary<string, string> env) => ConfigLoader.Load(new ConfigLoadOptions
        {
            Environment = Load.Env(env),
            WorkingDirectory = dir.Path,
        });

        Assert.Equal(7, Run(new() { ["MIRRORD_CONFIG_FILE"] = "from-env.toml" }).Config.Agent.Ttl);
        Assert.Equal(7, Run(new() { ["DOPPEL_CONFIG_FILE"] = "from-env.toml" }).Config.Agent.Ttl);
        var fallback = Run([]);
        Assert.Equal(3, fallback.Config.Agent.Ttl);
        Assert.Equal(".mirrord/mirrord.json", fallback.File);
    }

    [Fact]
    public void AMissingFileNamedByAFlagIsAnError()
    {
        using var dir = new TempConfigDirectory();

        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(new ConfigLoadOptions { ConfigFile = "nope.json", WorkingDirectory = dir.Path, Environment = Load.Env(null) }));

        var error = Assert.Single(e.Errors);
        Assert.Equal("nope.json", error.File);
        Assert.Contains("does not exist", error.Message, StringComparison.Ordinal);
    }
}
