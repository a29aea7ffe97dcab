using Doppel.EndToEnd.Tests.Support;

namespace Doppel.EndToEnd.Tests.EnvironmentVariables;

[Collection(EndToEndCollection.Name)]
public sealed class EnvironmentTests(ClusterFixture fixture)
{
    private const string PrintEnv = """
        import os, sys
        for name in sys.argv[1:]:
            print(f"{name}={os.environ.get(name, '<unset>')}")
        """;

    private static readonly string s_localHome = Environment.GetEnvironmentVariable("HOME") ?? "/root";

    [Fact]
    public async Task PodVariablesOverrideLocalOnesExceptExcludedAndNeverImportedOnesAndConfigOverridesWin()
    {
        var script = fixture.WriteFile("printenv.py", PrintEnv);
        var config = fixture.WriteFile("env-override.json", """{ "feature": { "env": { "override": { "LOG_LEVEL": "trace" } } } }""");

        var result = await fixture.ExecAsync(
            ["-t", $"pid/{fixture.Bff.Pid}", "-f", config, "-x", "SECRET_TOKEN", "--", ClusterFixture.Python, script,
                "DATABASE_URL", "FEATURE_FLAG", "SECRET_TOKEN", "LOG_LEVEL", "DEV_ONLY", "HOME"],
            new Dictionary<string, string?>
            {
                ["DATABASE_URL"] = "postgres://localhost/dev",
                ["DEV_ONLY"] = "kept",
                ["HOME"] = s_localHome,
                ["FEATURE_FLAG"] = null,
                ["SECRET_TOKEN"] = null,
                ["LOG_LEVEL"] = null,
            });

        result.AssertSucceededWith($"DATABASE_URL={ClusterFixture.PodDatabaseUrl}\nFEATURE_FLAG=on\nSECRET_TOKEN=<unset>\nLOG_LEVEL=trace\nDEV_ONLY=kept\nHOME={s_localHome}\n");
    }

    [Fact]
    public async Task IncludeListImportsOnlyTheMatchingPodVariables()
    {
        var script = fixture.WriteFile("printenv.py", PrintEnv);

        var result = await fixture.ExecAsync(
            ["-t", $"pid/{fixture.Bff.Pid}", "-s", "DATABASE_*", "--", ClusterFixture.Python, script, "DATABASE_URL", "FEATURE_FLAG", "SECRET_TOKEN"],
            new Dictionary<string, string?> { ["DATABASE_URL"] = null, ["FEATURE_FLAG"] = null, ["SECRET_TOKEN"] = null });

        result.AssertSucceededWith($"DATABASE_URL={ClusterFixture.PodDatabaseUrl}\nFEATURE_FLAG=<unset>\nSECRET_TOKEN=<unset>\n");
    }

    [Fact]
    public async Task EnvFileVariablesAreAddedOverThePodsOnesReadAsMirrordReadsThem()
    {
        var script = fixture.WriteFile("printenv.py", PrintEnv);
        var envFile = fixture.WriteFile(
            "dev.env",
            "# local settings\nexport FROM_FILE=\"file value\"\nFEATURE_FLAG=off # was on\nCERT=\"-----BEGIN-----\nline two\n-----END-----\"\nDB_URL=postgres://${DB_HOST}:5432/${DB_NAME}\nDB_NAME=ignored\nLITERAL='${DB_HOST}'\n");

        var result = await fixture.ExecAsync(
            ["-t", $"pid/{fixture.Bff.Pid}", "--env-file", envFile, "--", ClusterFixture.Python, script, "FROM_FILE", "FEATURE_FLAG", "CERT", "DB_URL", "LITERAL", "DATABASE_URL"],
            new Dictionary<string, string?> { ["DATABASE_URL"] = null, ["FEATURE_FLAG"] = null, ["FROM_FILE"] = null, ["DB_HOST"] = "localhost", ["DB_NAME"] = null });

        result.AssertSucceededWith(
            $"FROM_FILE=file value\nFEATURE_FLAG=off\nCERT=-----BEGIN-----\nline two\n-----END-----\nDB_URL=postgres://localhost:5432/\nLITERAL=${{DB_HOST}}\nDATABASE_URL={ClusterFixture.PodDatabaseUrl}\n");
    }

    [Fact]
    public async Task ABrokenEnvFileIsReportedWithItsLineBeforeTheAgentStarts()
    {
        var envFile = fixture.WriteFile("broken.env", "OK=1\nBROKEN=\"never closed\n");
        var marker = Path.Combine(fixture.WorkDirectory, "broken-env-ran");

        var result = await fixture.ExecAsync(["-t", $"pid/{fixture.Bff.Pid}", "--env-file", envFile, "--", "touch", marker]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"{envFile}:2: a quote opened here is never closed; close it (a value may span lines only inside quotes). 'touch' was not started.", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("agent", result.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(marker));
    }
}
