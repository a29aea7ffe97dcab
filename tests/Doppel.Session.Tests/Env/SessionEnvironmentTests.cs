using Doppel.Config;
using Doppel.Session.Env;

namespace Doppel.Session.Tests.Env;

public sealed class SessionEnvironmentTests
{
    private static readonly Dictionary<string, string> s_pod = new()
    {
        ["DATABASE_URL"] = "postgres://db.default.svc:5432/app",
        ["API_TIMEOUT"] = "30",
        ["DB_TIMEOUT"] = "5",
        ["PATH"] = "/pod/bin",
        ["HOME"] = "/root",
        ["SHARED"] = "from the pod",
    };

    private static readonly Dictionary<string, string> s_local = new()
    {
        ["PATH"] = "/usr/bin",
        ["HOME"] = "/home/dev",
        ["SHARED"] = "from the laptop",
        ["EDITOR"] = "vi",
    };

    private static IReadOnlyDictionary<string, string> Build(EnvConfig config, string? directory = null) =>
        SessionEnvironment.Build(config, s_pod, s_local, directory ?? Path.GetTempPath());

    [Fact]
    public void PodVariablesWinOverLocalOnesExceptTheNeverImportedList()
    {
        var env = Build(new EnvConfig());

        Assert.Equal("postgres://db.default.svc:5432/app", env["DATABASE_URL"]);
        Assert.Equal("from the pod", env["SHARED"]);
        Assert.Equal("/usr/bin", env["PATH"]);
        Assert.Equal("/home/dev", env["HOME"]);
        Assert.Equal("vi", env["EDITOR"]);
    }

    [Fact]
    public void DisabledImportsNothing()
    {
        var env = Build(new EnvConfig { Enabled = false });

        Assert.False(env.ContainsKey("DATABASE_URL"));
        Assert.Equal("from the laptop", env["SHARED"]);
    }

    [Fact]
    public void IncludeKeepsOnlyMatchingNamesWithWildcards()
    {
        var env = Build(new EnvConfig { Include = ["*_TIMEOUT", "DATABASE_UR?"] });

        Assert.Equal("30", env["API_TIMEOUT"]);
        Assert.Equal("5", env["DB_TIMEOUT"]);
        Assert.Equal("postgres://db.default.svc:5432/app", env["DATABASE_URL"]);
        Assert.Equal("from the laptop", env["SHARED"]);
    }

    [Fact]
    public void IncludeCannotBringInANeverImportedVariable()
    {
        var env = Build(new EnvConfig { Include = ["PATH", "HOME"] });

        Assert.Equal("/usr/bin", env["PATH"]);
        Assert.Equal("/home/dev", env["HOME"]);
    }

    [Fact]
    public void ExcludeDropsMatchingNames()
    {
        var env = Build(new EnvConfig { Exclude = ["API_*", "SHARED"] });

        Assert.False(env.ContainsKey("API_TIMEOUT"));
        Assert.Equal("5", env["DB_TIMEOUT"]);
        Assert.Equal("from the laptop", env["SHARED"]);
    }

    [Fact]
    public void OverrideWinsAndUnsetRemovesWhateverTheCase()
    {
        var env = Build(new EnvConfig
        {
            Override = new Dictionary<string, string> { ["DATABASE_URL"] = "postgres://localhost/app", ["NEW"] = "1" },
            Unset = ["editor", "db_timeout"],
        });

        Assert.Equal("postgres://localhost/app", env["DATABASE_URL"]);
        Assert.Equal("1", env["NEW"]);
        Assert.False(env.ContainsKey("EDITOR"));
        Assert.False(env.ContainsKey("DB_TIMEOUT"));
    }

    [Fact]
    public void MappingRewritesMatchingValuesWithCaptureGroups()
    {
        var env = Build(new EnvConfig { Mapping = new Dictionary<string, string> { [@"^postgres://([^:/]+):5432"] = "postgres://$1:6543" } });

        Assert.Equal("postgres://db.default.svc:6543/app", env["DATABASE_URL"]);
        Assert.Equal("30", env["API_TIMEOUT"]);
    }

    [Fact]
    public void EnvFileIsReadRelativeToTheWorkingDirectoryAndSitsBetweenPodAndOverride()
    {
        var directory = Directory.CreateTempSubdirectory("doppel-envfile-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(directory, ".env"), "# local settings\nexport SHARED=\"from the file\"\nAPI_TIMEOUT=60 # seconds\nQUOTED='a # b'\n\n");
            var env = Build(new EnvConfig { EnvFile = ".env", Override = new Dictionary<string, string> { ["API_TIMEOUT"] = "90" } }, directory);

            Assert.Equal("from the file", env["SHARED"]);
            Assert.Equal("90", env["API_TIMEOUT"]);
            Assert.Equal("a # b", env["QUOTED"]);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void AMissingEnvFileIsOneSentenceNamingIt()
    {
        var e = Assert.Throws<EnvFileException>(() => Build(new EnvConfig { EnvFile = "/nonexistent/doppel.env" }));

        Assert.StartsWith("cannot read the env file /nonexistent/doppel.env: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AMalformedEnvFileLineIsReportedWithItsNumber()
    {
        var e = Assert.Throws<EnvFileException>(() => DotEnvFile.Parse(["A=1", "not a variable"], "dev.env"));

        Assert.Equal("dev.env:2: expected NAME=value, found 'not a variable'.", e.Message);
    }

    [Fact]
    public void DoubleQuotedValuesUnderstandEscapes()
    {
        var values = DotEnvFile.Parse(["A=\"line1\\nline2 \\\"q\\\"\"", "B=  spaced  "], "x");

        Assert.Equal("line1\nline2 \"q\"", values[0].Value);
        Assert.Equal("spaced", values[1].Value);
    }
}
