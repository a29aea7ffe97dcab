using Doppel.Config.Loading;

namespace Doppel.Config.Tests.Loading;

public sealed class TomlConfigReaderTests
{
    private const string Positioned = """
        # doppel config
        kubeconfig = "~/.kube/config"
        feature.env.override = { LOG = "debug", "GRÜẞE-😀" = "x", NEXT = "y" }

        [target]
        path.deployment = "bff"

        [feature.network.incoming]
        mode = "steal"
        port_mapping = [[8080, 80], [9443, 443]]

        [[feature.network.incoming.http_filter.all_of]]
        header = "^x-user: alice$"

        [[feature.network.incoming.http_filter.all_of]]
        path = "^/api/"

        [feature."fs"]
        read_only = [
          "^/etc",
          '\.pem$',
        ]
        """;

    private static ConfigDocument Read(string text) => ConfigReader.Read(text, ConfigFormat.Toml, "mirrord.toml");

    private static ConfigException Fails(string text) => Assert.Throws<ConfigException>(() => Read(text));

    [Fact]
    public void TablesArraysOfTablesDottedAndQuotedKeysBecomeOneTree()
    {
        var document = Read(Positioned);

        PositionAssert.SameTree("""
            {
              "kubeconfig": "~/.kube/config",
              "feature": {
                "env": { "override": { "LOG": "debug", "GRÜẞE-😀": "x", "NEXT": "y" } },
                "network": {
                  "incoming": {
                    "mode": "steal",
                    "port_mapping": [[8080, 80], [9443, 443]],
                    "http_filter": { "all_of": [ { "header": "^x-user: alice$" }, { "path": "^/api/" } ] }
                  }
                },
                "fs": { "read_only": ["^/etc", "\\.pem$"] }
              },
              "target": { "path": { "deployment": "bff" } }
            }
            """, document);
    }

    [Fact]
    public void DottedKeysRecordEverySegmentWhereItIsWritten()
    {
        var document = Read(Positioned);

        PositionAssert.At(document, "kubeconfig", 2, 1);
        PositionAssert.At(document, "feature", 3, 1);
        PositionAssert.At(document, "feature.env", 3, 9);
        PositionAssert.At(document, "feature.env.override", 3, 13);
        PositionAssert.At(document, "target.path", 6, 1);
        PositionAssert.At(document, "target.path.deployment", 6, 6);
    }

    [Fact]
    public void InlineTableKeysAfterMultiByteCharactersCountCharacters()
    {
        var document = Read(Positioned);

        PositionAssert.At(document, "feature.env.override.LOG", 3, 26);
        PositionAssert.At(document, "feature.env.override.GRÜẞE-😀", 3, 41);
        PositionAssert.At(document, "feature.env.override.NEXT", 3, 58); // 59 if columns counted UTF-16 code units
    }

    [Fact]
    public void TableHeadersRecordTheirNameSegments()
    {
        var document = Read(Positioned);

        PositionAssert.At(document, "target", 5, 2);
        PositionAssert.At(document, "feature.network", 8, 10);
        PositionAssert.At(document, "feature.network.incoming", 8, 18);
        PositionAssert.At(document, "feature.network.incoming.mode", 9, 1);
        PositionAssert.At(document, "feature.fs", 18, 10);
    }

    [Fact]
    public void ArraysOfTablesAreElementsAtTheirHeaders()
    {
        var document = Read(Positioned);

        PositionAssert.At(document, "feature.network.incoming.http_filter", 12, 28);
        PositionAssert.At(document, "feature.network.incoming.http_filter.all_of", 12, 40);
        PositionAssert.At(document, "feature.network.incoming.http_filter.all_of[0]", 12, 1);
        PositionAssert.At(document, "feature.network.incoming.http_filter.all_of[0].header", 13, 1);
        PositionAssert.At(document, "feature.network.incoming.http_filter.all_of[1]", 15, 1);
        PositionAssert.At(document, "feature.network.incoming.http_filter.all_of[1].path", 16, 1);
    }

    [Fact]
    public void ArrayElementsHaveThePositionOfTheirValue()
    {
        var document = Read(Positioned);

        PositionAssert.At(document, "feature.network.incoming.port_mapping[1]", 10, 29);
        PositionAssert.At(document, "feature.network.incoming.port_mapping[1][1]", 10, 36);
        PositionAssert.At(document, "feature.fs.read_only[0]", 20, 3);
        PositionAssert.At(document, "feature.fs.read_only[1]", 21, 3);
    }

    [Fact]
    public void SubTableOfAnArrayOfTablesGoesIntoItsLastElement()
    {
        const string text = """
            [[target]]
            path = "pod/a"
            [[target]]
            path = "pod/b"
            [target.labels]
            app = "web"
            """;

        var document = Read(text);

        PositionAssert.SameTree("""{"target": [{"path": "pod/a"}, {"path": "pod/b", "labels": {"app": "web"}}]}""", document);
        PositionAssert.At(document, "target[1].labels", 5, 9);
        PositionAssert.At(document, "target[1].labels.app", 6, 1);
    }

    [Fact]
    public void ScalarsKeepTheirTypesAndDatesBecomeIsoStrings()
    {
        const string text = """
            s = "x"
            literal = 'C:\temp'
            i = 1_000
            hex = 0xff
            f = 6.5e2
            b = false
            odt = 1979-05-27T07:32:00Z
            odt_offset = 1979-05-27T00:32:00.999-07:00
            ldt = 1979-05-27 07:32:00
            ld = 1979-05-27
            lt = 07:32:00
            inf_is_text = inf
            """;

        var document = Read(text);

        PositionAssert.SameTree("""
            {
              "s": "x", "literal": "C:\\temp", "i": 1000, "hex": 255, "f": 650, "b": false,
              "odt": "1979-05-27T07:32:00Z", "odt_offset": "1979-05-27T00:32:00.999-07:00",
              "ldt": "1979-05-27T07:32:00", "ld": "1979-05-27", "lt": "07:32:00",
              "inf_is_text": "inf"
            }
            """, document);
    }

    [Fact]
    public void DuplicateKeyIsAnErrorWithTheFileAndLine()
    {
        const string text = """
            [feature]
            env = true
            fs = "read"
            env = false
            """;

        var error = Assert.Single(Fails(text).Errors);

        Assert.StartsWith("mirrord.toml:4:1: The file is not valid TOML: ", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("env", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TableWrittenTwiceIsAnErrorWithTheFileAndLine()
    {
        var exception = Fails("[target]\npath = \"pod/a\"\n\n[target]\nnamespace = \"x\"\n");

        Assert.Contains("mirrord.toml:4:", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EverySyntaxErrorIsReportedWithItsLine()
    {
        const string text = """
            target = "pod/a"
            mode =
            feature.env = true
            agent = { privileged = true
            """;

        var exception = Fails(text);

        Assert.True(exception.Errors.Count >= 2, exception.Message);
        Assert.All(exception.Errors, error =>
        {
            Assert.Equal("mirrord.toml", error.File);
            Assert.NotNull(error.Position);
            Assert.StartsWith($"mirrord.toml:{error.Position!.Value.Line}:", error.ToString(), StringComparison.Ordinal);
            Assert.Contains("not valid TOML", error.Message, StringComparison.Ordinal);
        });
        Assert.Contains(exception.Errors, error => error.Position!.Value.Line == 2);
    }

    [Fact]
    public void UnclosedStringIsASyntaxErrorOnItsLine()
    {
        var exception = Fails("kubeconfig = \"~/.kube/config\n");

        Assert.Contains("mirrord.toml:1:", exception.Message, StringComparison.Ordinal);
    }
}
