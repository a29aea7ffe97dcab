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
        SessionEnvironment.Build(config, s_pod, s_local, SessionEnvironment.ReadEnvFile(config, s_local, directory ?? Path.GetTempPath()));

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
        var e = Assert.Throws<EnvFileException>(() => Parse("A=1\nnot a variable\n"));

        Assert.Equal("dev.env:2: expected NAME=value, found 'not a variable'; names start with a letter or '_'.", e.Message);
    }

    [Fact]
    public void DoubleQuotedValuesUnderstandEscapes()
    {
        var values = Parse("A=\"line1\\nline2 \\\"q\\\" \\$HOME\"\nB=  spaced  \nC=a\\ b\n");

        Assert.Equal(["line1\nline2 \"q\" $HOME", "spaced", "a b"], values.Select(v => v.Value));
    }

    [Fact]
    public void VariablesAreExpandedFromTheLocalEnvironmentFirstThenFromEarlierLines()
    {
        var values = Parse("SHARED=file\nHOST=db\nURL=\"postgres://${HOST}:5432/${SHARED}\"\nBARE=$HOST/x\nMISSING=[${NOPE}]\nLITERAL='${HOST}'\n");

        Assert.Equal(["file", "db", "postgres://db:5432/from the laptop", "db/x", "[]", "${HOST}"], values.Select(v => v.Value));
    }

    [Fact]
    public void QuotedValuesSpanLinesAndCommentsAndExportAreUnderstood()
    {
        var values = Parse("# a comment\n\nexport A=1 # trailing comment\nKEY=\"-----BEGIN-----\nabc # not a comment\n-----END-----\"\nexport   B='x\ny'\nC=\"#hash\" # comment\nD=#\nexport=plain\n");

        Assert.Equal(
            [("A", "1"), ("KEY", "-----BEGIN-----\nabc # not a comment\n-----END-----"), ("B", "x\ny"), ("C", "#hash"), ("D", ""), ("export", "plain")],
            values.Select(v => (v.Key, v.Value)));
    }

    [Theory]
    [InlineData("A=b c\n", 1, "the value has a blank in it ('A=b c'); quote a value that contains blanks, e.g. NAME=\"a b\".")]
    [InlineData("A=1\nB=\"open\nstill open\n", 2, "a quote opened here is never closed; close it (a value may span lines only inside quotes).")]
    [InlineData("A=${B\n", 1, "a '${' is never closed with '}'; close it, or write '\\$' for a literal dollar sign.")]
    [InlineData("A=\"\\q\"\n", 1, "'\\q' is not an escape a .env value knows (\\n, \\\\, \\\", \\', \\$, '\\ '); write '\\\\q' for a backslash.")]
    [InlineData("1A=x\n", 1, "expected NAME=value, found '1A=x'; names start with a letter or '_'.")]
    public void WhatDotenvyRejectsIsAnErrorNamingFileAndLine(string text, int line, string message)
    {
        var e = Assert.Throws<EnvFileException>(() => Parse(text));

        Assert.Equal($"dev.env:{line}: {message}", e.Message);
    }

    private static IReadOnlyList<KeyValuePair<string, string>> Parse(string text) =>
        DotEnvFile.Parse(text, "dev.env", name => s_local.GetValueOrDefault(name));
}
