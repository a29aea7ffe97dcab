using System.Text.Json.Nodes;
using Doppel.Config.Loading;

namespace Doppel.Config.Tests.Loading;

public sealed class JsonConfigReaderTests
{
    private static ConfigDocument Read(string text) => ConfigReader.Read(text, ConfigFormat.Json, "mirrord.json");

    private static ConfigException Fails(string text) => Assert.Throws<ConfigException>(() => Read(text));

    [Fact]
    public void CommentedJsonKeepsLineNumbersOfKeysAfterComments()
    {
        var document = Read(SeedConfigs.CommentedJson);

        PositionAssert.At(document, string.Empty, 1, 1);
        PositionAssert.At(document, "kubeconfig", 2, 3);
        PositionAssert.At(document, "target", 4, 3);
        PositionAssert.At(document, "target.path", 5, 5);
        PositionAssert.At(document, "target.namespace", 6, 5);
        PositionAssert.At(document, "feature.network.incoming.mode", 12, 9);
        PositionAssert.At(document, "feature.fs.mode", 16, 7);
    }

    [Fact]
    public void BlockCommentsAndTrailingCommasAreAcceptedAndKeepColumns()
    {
        const string text = """
            /* mirrord config
               pasted from the docs */
            {
              "target": { "path": "pod/x", /* the pod */ "namespace": "ns", },
              "skip_processes": ["bash", "sh",],
            }
            """;

        var document = Read(text);

        PositionAssert.SameTree("""{"target":{"path":"pod/x","namespace":"ns"},"skip_processes":["bash","sh"]}""", document);
        PositionAssert.At(document, "target", 4, 3);
        PositionAssert.At(document, "target.path", 4, 15);
        PositionAssert.At(document, "target.namespace", 4, 46);
        PositionAssert.At(document, "skip_processes[0]", 5, 22);
        PositionAssert.At(document, "skip_processes[1]", 5, 30);
    }

    [Fact]
    public void NestedArrayElementsHaveThePositionOfTheirValue()
    {
        const string text = """
            {
              "feature": {
                "network": {
                  "incoming": {
                    "port_mapping": [
                      [8080, 80],
                      [9443, 443]
                    ]
                  }
                }
              }
            }
            """;

        var document = Read(text);

        PositionAssert.At(document, "feature.network.incoming.port_mapping", 5, 9);
        PositionAssert.At(document, "feature.network.incoming.port_mapping[1]", 7, 11);
        PositionAssert.At(document, "feature.network.incoming.port_mapping[1][1]", 7, 18);
        Assert.Equal(443L, (long)document.Root["feature"]!["network"]!["incoming"]!["port_mapping"]![1]![1]!);
    }

    [Fact]
    public void MultiByteCharactersBeforeAKeyCountAsOneColumnEach()
    {
        var document = Read("""{"é": 1, "😀x": 2, "k": 3}""");

        PositionAssert.At(document, "é", 1, 2);
        PositionAssert.At(document, "😀x", 1, 10);
        PositionAssert.At(document, "k", 1, 19);
    }

    [Fact]
    public void MultiByteCharactersInACommentOnAnEarlierLineDoNotShiftLaterLines()
    {
        var document = Read("{ // Grüße 😀\n  \"target\": \"pod/ü\", \"key\": \"k\"\n}");

        PositionAssert.At(document, "target", 2, 3);
        PositionAssert.At(document, "key", 2, 22);
    }

    [Fact]
    public void WindowsLineEndingsDoNotChangePositions()
    {
        var document = Read("{\r\n  \"a\": {\r\n    \"b\": 1\r\n  }\r\n}\r\n");

        PositionAssert.At(document, "a.b", 3, 5);
    }

    [Fact]
    public void ValuesKeepTheirJsonTypes()
    {
        var document = Read("""{"s": "x", "i": 42, "neg": -7, "f": 2.5, "e": 1e3, "t": true, "n": null, "o": {}, "a": []}""");

        Assert.Equal("x", document.Root["s"]!.GetValue<string>());
        Assert.Equal(42L, document.Root["i"]!.GetValue<long>());
        Assert.Equal(-7L, document.Root["neg"]!.GetValue<long>());
        Assert.Equal(2.5, document.Root["f"]!.GetValue<double>());
        Assert.Equal(1000.0, document.Root["e"]!.GetValue<double>());
        Assert.True(document.Root["t"]!.GetValue<bool>());
        Assert.True(document.Root.ContainsKey("n"));
        Assert.Null(document.Root["n"]);
        Assert.IsType<JsonObject>(document.Root["o"]);
        Assert.IsType<JsonArray>(document.Root["a"]);
    }

    [Fact]
    public void EscapedCharactersInKeysAndStringsAreDecoded()
    {
        var document = Read("""{"fs": {"read_only": ["\\.so$", "tab\there", "\u00e9"]}, "k\u0065y": 1}""");

        Assert.Equal(@"\.so$", (string?)document.Root["fs"]!["read_only"]![0]);
        Assert.Equal("tab\there", (string?)document.Root["fs"]!["read_only"]![1]);
        Assert.Equal("é", (string?)document.Root["fs"]!["read_only"]![2]);
        Assert.True(document.Root.ContainsKey("key"));
    }

    [Fact]
    public void DuplicateKeyNamesTheKeyPathAndBothLines()
    {
        const string text = """
            {
              "feature": {
                "env": true,
                "fs": "read",
                "env": false
              }
            }
            """;

        var error = Assert.Single(Fails(text).Errors);

        Assert.Equal("feature.env", error.KeyPath);
        Assert.Equal(new SourcePosition(5, 5), error.Position);
        Assert.Contains("mirrord.json:5:5: feature.env:", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("first on line 3", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryDuplicateKeyIsReportedAtOnce()
    {
        var exception = Fails("{\"a\": 1, \"a\": 2,\n \"b\": {\"c\": 1, \"c\": 1}}");

        Assert.Equal(["a", "b.c"], exception.Errors.Select(e => e.KeyPath));
    }

    [Fact]
    public void KeysDifferingOnlyInCaseAreNotDuplicates()
    {
        var document = Read("""{"Key": 1, "key": 2}""");

        Assert.Equal(2, document.Root.Count);
    }

    [Theory]
    [InlineData("[1, 2]", "an array")]
    [InlineData("\"feature\"", "a string")]
    [InlineData("// comment first\n42", "a number")]
    public void RootThatIsNotAnObjectIsAnError(string text, string holds)
    {
        var error = Assert.Single(Fails(text).Errors);

        Assert.Contains("must be a JSON object", error.Message, StringComparison.Ordinal);
        Assert.Contains(holds, error.Message, StringComparison.Ordinal);
        Assert.Equal("mirrord.json", error.File);
        Assert.NotNull(error.Position);
    }

    [Theory]
    [InlineData("{\n  \"a\": 1\n  \"b\": 2\n}", 3, 3, "a ',' is missing")]
    [InlineData("{\n  target: \"x\"\n}", 2, 3, "double quotes")]
    [InlineData("{\n  'target': \"x\"\n}", 2, 3, "double quotes")]
    [InlineData("{\n  \"target\" \"x\"\n}", 2, 12, "a ':' is missing")]
    [InlineData("{\n  \"fs\": {\"read_only\": [\"\\.so$\"]}\n}", 2, 26, "backslash")]
    [InlineData("{\n  \"a\": \"unterminated\n}", 2, 21, "not closed")]
    [InlineData("{\n  \"feature\": {\n    \"env\": true\n", 4, 1, "the file ends before")]
    [InlineData("{\n  \"env\": yes\n}", 2, 10, "a value is expected")]
    [InlineData("{\n  \"a\": [1, 2}\n}", 2, 13, "does not match")]
    [InlineData("{\n  \"a\": 1\n}\n}", 4, 1, "more after the closing")]
    [InlineData("{\n  \"a\": 1\n} {}", 3, 3, "more after the closing")]
    [InlineData("{\n  \"a\": 1 /* open\n}", 2, 10, "comment is not closed")]
    [InlineData("{\n  \"é\": tru\n}", 2, 11, "a value is expected")] // 12 if columns counted bytes
    public void SyntaxErrorNamesTheFileLineAndColumnInASentence(string text, int line, int column, string explanation)
    {
        var error = Assert.Single(Fails(text).Errors);

        Assert.Equal("mirrord.json", error.File);
        Assert.Equal(new SourcePosition(line, column), error.Position);
        Assert.StartsWith($"mirrord.json:{line}:{column}: The file is not valid JSON: ", error.ToString(), StringComparison.Ordinal);
        Assert.Contains(explanation, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("LineNumber", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("BytePositionInLine", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NumberTooLargeForADoubleIsAnErrorAtItsKey()
    {
        var error = Assert.Single(Fails("{\n  \"agent\": {\"ttl\": 1e400}\n}").Errors);

        Assert.Equal("agent.ttl", error.KeyPath);
        Assert.Equal(new SourcePosition(2, 20), error.Position);
    }
}
