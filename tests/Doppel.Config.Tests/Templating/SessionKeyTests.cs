using Doppel.Config.Tests.Support;

namespace Doppel.Config.Tests.Templating;

/// <summary>
/// <c>{{ key }}</c> is the session key, found as mirrord finds it: <c>-k</c>, then
/// <c>DOPPEL_KEY</c>/<c>MIRRORD_KEY</c>, then the file's own top-level <c>"key"</c>, else generated.
/// The template and the session always agree on it.
/// </summary>
public sealed class SessionKeyTests
{
    private const string IssueExample = """
        {"key": "team-a", "feature": {"network": {"incoming": {"mode": "steal", "http_filter": {"header_filter": "^baggage: .*session={{ key }}.*$"}}}}, "target": "pod/web"}
        """;

    private static ConfigOverride KeyFlag(string key) => new("key", key, "--key");

    private static string HeaderFilter(LoadedConfig loaded) => loaded.Config.Feature.Network.Incoming.HttpFilter.HeaderFilter!;

    [Fact]
    public void FilesOwnKeyIsRenderedIntoTheHeaderFilter()
    {
        var loaded = Load.Text(IssueExample);

        Assert.Equal("^baggage: .*session=team-a.*$", HeaderFilter(loaded));
        Assert.Equal("team-a", loaded.Config.Key);
    }

    [Fact]
    public void KeyFlagBeatsTheFilesKeyInTemplatesAndSession()
    {
        var loaded = Load.Text(IssueExample, flags: [KeyFlag("from-cli")], env: new Dictionary<string, string> { ["MIRRORD_KEY"] = "from-env" });

        Assert.Equal("^baggage: .*session=from-cli.*$", HeaderFilter(loaded));
        Assert.Equal("from-cli", loaded.Config.Key);
    }

    [Theory]
    [InlineData("MIRRORD_KEY", null, "m")]
    [InlineData("DOPPEL_KEY", null, "d")]
    [InlineData("MIRRORD_KEY", "DOPPEL_KEY", "d")]
    public void KeyFromTheEnvironmentBeatsTheFilesKey(string first, string? second, string expected)
    {
        var env = new Dictionary<string, string> { [first] = first.StartsWith('M') ? "m" : "d" };
        if (second is not null)
        {
            env[second] = "d";
        }

        var loaded = Load.Text(IssueExample, env: env);

        Assert.Equal($"^baggage: .*session={expected}.*$", HeaderFilter(loaded));
        Assert.Equal(expected, loaded.Config.Key);
    }

    [Fact]
    public void WithoutAnyKeyTheGeneratedKeyIsRenderedAndKept()
    {
        var loaded = Load.Text("""{"target": "pod/web", "feature": {"network": {"incoming": {"mode": "steal", "http_filter": {"header_filter": "^x-session: {{ key }}$"}}}}}""");

        Assert.Matches("^[0-9a-f]{5}$", loaded.Config.Key);
        Assert.Equal($"^x-session: {loaded.Config.Key}$", HeaderFilter(loaded));
    }

    [Fact]
    public void FilesKeyMayItselfBeATemplateOfGitBranch()
    {
        var loaded = Load.Text("""{"key": "{{ git_branch }}", "agent": {"labels": {"session": "{{ key }}"}}}""");

        Assert.Equal("main", loaded.Config.Key);
        Assert.Equal("main", loaded.Config.Agent.Labels["session"]);
    }

    [Fact]
    public void FilesKeyWithDoubleQuotesInsideItsTemplateIsFoundToo()
    {
        // Not valid JSON before rendering; mirrord falls back to a generated key here, doppel does not.
        var loaded = Load.Text(
            """{"key": "{{ get_env(name="TEAM", default="none") }}", "agent": {"labels": {"session": "{{ key }}"}}}""",
            env: new Dictionary<string, string> { ["TEAM"] = "payments" });

        Assert.Equal("payments", loaded.Config.Key);
        Assert.Equal("payments", loaded.Config.Agent.Labels["session"]);
    }

    [Theory]
    [InlineData("doppel.yaml", "key: team-y\nagent:\n  labels:\n    session: \"{{ key }}\"\n")]
    [InlineData("doppel.toml", "key = \"team-y\"\n[agent.labels]\nsession = \"{{ key }}\"\n")]
    public void FilesKeyIsFoundInYamlAndToml(string name, string text)
    {
        var loaded = Load.Text(text, name);

        Assert.Equal("team-y", loaded.Config.Agent.Labels["session"]);
    }

    [Fact]
    public void KeyMadeFromItselfIsAnError()
    {
        var error = Assert.Single(Load.Errors("{\n  \"key\": \"x-{{ key }}\",\n  \"agent\": {\"labels\": {\"s\": \"{{ key }}\"}}\n}"));

        Assert.Equal(("key", 2), (error.KeyPath, error.Position!.Value.Line));
        Assert.Contains("cannot be made from {{ key }} itself", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FileWithoutKeyVariableKeepsItsOwnKeyAndRendersOnce()
    {
        var calls = 0;
        using var dir = new TempConfigDirectory();
        var path = dir.Write("doppel.json", """{"key": "k1", "agent": {"labels": {"branch": "{{ git_branch }}"}}}""");

        var config = ConfigLoader.Load(new ConfigLoadOptions { ConfigFile = path, Environment = _ => null, WorkingDirectory = dir.Path, GitBranch = () => { calls++; return "dev"; } }).Config;

        Assert.Equal(("k1", "dev", 1), (config.Key, config.Agent.Labels["branch"], calls));
    }

    [Fact]
    public void GitBranchIsWorkedOutOnceWhenTheFileIsRenderedTwice()
    {
        var calls = 0;
        using var dir = new TempConfigDirectory();
        var path = dir.Write("doppel.json", """{"key": "{{ git_branch }}", "agent": {"labels": {"session": "{{ key }}"}}}""");

        var config = ConfigLoader.Load(new ConfigLoadOptions { ConfigFile = path, Environment = _ => null, WorkingDirectory = dir.Path, GitBranch = () => { calls++; return "dev"; } }).Config;

        Assert.Equal(("dev", "dev", 1), (config.Key, config.Agent.Labels["session"], calls));
    }
}
