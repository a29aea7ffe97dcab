using System.Text.Json.Nodes;
using Doppel.Config.Loading;

namespace Doppel.Config.Tests.Loading;

public sealed class YamlConfigReaderTests
{
    private static ConfigDocument Read(string text) => ConfigReader.Read(text, ConfigFormat.Yaml, "mirrord.yaml");

    private static ConfigException Fails(string text) => Assert.Throws<ConfigException>(() => Read(text));

    [Fact]
    public void NestedKeysAndListElementsHaveTheirPositions()
    {
        var document = Read(SeedConfigs.EverythingYaml);

        PositionAssert.At(document, "target", 1, 1);
        PositionAssert.At(document, "target.path", 2, 3);
        PositionAssert.At(document, "target.path.container", 2, 28);
        PositionAssert.At(document, "skip_processes[1]", 4, 24);
        PositionAssert.At(document, "feature.fs.read_only[1]", 22, 9);
        PositionAssert.At(document, "feature.network.incoming.port_mapping[1]", 29, 11);
        PositionAssert.At(document, "feature.network.incoming.port_mapping[1][1]", 29, 18);
        PositionAssert.At(document, "feature.network.incoming.http_filter.all_of[1]", 34, 13);
        PositionAssert.At(document, "feature.network.incoming.http_filter.all_of[1].path", 34, 13);
    }

    [Fact]
    public void CommentsBeforeKeysDoNotShiftPositions()
    {
        var document = Read(SeedConfigs.CommentedYaml);

        PositionAssert.At(document, "target.namespace", 5, 3);
        PositionAssert.At(document, "feature.network.incoming.mode", 10, 7);
    }

    [Fact]
    public void MultiByteCharactersBeforeAKeyCountAsOneColumnEach()
    {
        var document = Read("root: {é: 1, 😀x: 2, k: 3}\nenv: {override: {GRÜSSE: \"😀\", next: 1}}\n");

        PositionAssert.At(document, "root.😀x", 1, 14);
        PositionAssert.At(document, "root.k", 1, 21); // 22 if columns counted UTF-16 code units
        PositionAssert.At(document, "env.override.next", 2, 31);
    }

    [Fact]
    public void WindowsLineEndingsDoNotChangePositions()
    {
        var document = Read("feature:\r\n  fs:\r\n    mode: read\r\n");

        PositionAssert.At(document, "feature.fs.mode", 3, 5);
    }

    [Fact]
    public void PlainScalarsFollowTheYaml12CoreSchema()
    {
        const string text = """
            t: true
            f: False
            n1: null
            n2: ~
            n3:
            i: 42
            neg: -7
            hex: 0x1F
            oct: 0o17
            fl: 2.5
            exp: 1e3
            dot: .5
            yes_is_text: yes
            on_is_text: on
            inf_is_text: .inf
            version: 1.2.3
            port_like: 8080:80
            leading_zero: 0755
            """;

        var document = Read(text);

        PositionAssert.SameTree("""
            {
              "t": true, "f": false, "n1": null, "n2": null, "n3": null,
              "i": 42, "neg": -7, "hex": 31, "oct": 15,
              "fl": 2.5, "exp": 1000, "dot": 0.5,
              "yes_is_text": "yes", "on_is_text": "on", "inf_is_text": ".inf",
              "version": "1.2.3", "port_like": "8080:80", "leading_zero": 755
            }
            """, document);
        Assert.Equal(System.Text.Json.JsonValueKind.Number, JsonValueKind(document, "i"));
        Assert.Equal(System.Text.Json.JsonValueKind.String, JsonValueKind(document, "yes_is_text"));
    }

    [Fact]
    public void QuotedTaggedAndBlockScalarsStayStrings()
    {
        const string text = """
            single: 'true'
            double: "42"
            tagged: !!str 3.5
            literal: |
              line one
              line two
            folded: >-
              one
              two
            """;

        var document = Read(text);

        PositionAssert.SameTree("""
            {"single": "true", "double": "42", "tagged": "3.5", "literal": "line one\nline two\n", "folded": "one two"}
            """, document);
    }

    [Fact]
    public void AnchorsAndAliasesCopyTheAnchoredValue()
    {
        const string text = """
            ports: &ports [80, 443]
            feature:
              network:
                incoming:
                  ignore_ports: *ports
                  http_filter: { ports: *ports }
            """;

        var document = Read(text);

        PositionAssert.SameTree("""
            {"ports": [80, 443], "feature": {"network": {"incoming": {"ignore_ports": [80, 443], "http_filter": {"ports": [80, 443]}}}}}
            """, document);

        // An alias's position is where it is used; what lies under it falls back to that.
        PositionAssert.At(document, "feature.network.incoming.ignore_ports", 5, 7);
        Assert.Equal(new SourcePosition(5, 7), document.Positions.Find("feature.network.incoming.ignore_ports[1]"));
    }

    [Fact]
    public void MergeKeysAddTheAnchoredKeysThatTheMappingDoesNotWrite()
    {
        const string text = """
            defaults: &defaults
              mode: steal
              on_concurrent_steal: abort
            feature:
              network:
                incoming:
                  <<: *defaults
                  on_concurrent_steal: override
            """;

        var document = Read(text);

        var incoming = document.Root["feature"]!["network"]!["incoming"]!;
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"mode": "steal", "on_concurrent_steal": "override"}"""), incoming));
    }

    [Fact]
    public void AliasToAnUndefinedAnchorIsAnErrorWithItsLine()
    {
        var exception = Fails("a: 1\nb: *missing\n");

        Assert.Contains("mirrord.yaml:2:", exception.Message, StringComparison.Ordinal);
        Assert.Contains("*missing", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DuplicateKeyNamesTheKeyPathAndBothLines()
    {
        const string text = """
            feature:
              env: true
              fs: read
              env: false
            """;

        var error = Assert.Single(Fails(text).Errors);

        Assert.Equal("feature.env", error.KeyPath);
        Assert.StartsWith("mirrord.yaml:4:3: feature.env: ", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("first on line 2", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("- pod/a\n- pod/b\n", "a list")]
    [InlineData("pod/a\n", "a single string")]
    [InlineData("# comment\n42\n", "a single number")]
    public void RootThatIsNotAMappingIsAnError(string text, string holds)
    {
        var error = Assert.Single(Fails(text).Errors);

        Assert.Contains("must be a YAML mapping", error.Message, StringComparison.Ordinal);
        Assert.Contains(holds, error.Message, StringComparison.Ordinal);
        Assert.Equal("mirrord.yaml", error.File);
    }

    [Fact]
    public void SecondDocumentIsAnError()
    {
        var exception = Fails("a: 1\n---\nb: 2\n");

        Assert.Contains("mirrord.yaml:2:", exception.Message, StringComparison.Ordinal);
        Assert.Contains("more than one YAML document", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ExplicitEmptyDocumentIsAnEmptyConfiguration()
    {
        Assert.Empty(Read("---\n...\n").Root);
    }

    [Theory]
    [InlineData("feature:\n  env: true\n fs: read\n", 3)]
    [InlineData("target: \"pod/a\n  namespace: x", 1)]
    [InlineData("feature:\n  env: true\n    fs: read\n", 3)]
    [InlineData("feature:\n  env: [a, b\nagent: {}\n", 2)]
    [InlineData("a: 1\n- b\n", 2)]
    public void SyntaxErrorNamesTheFileAndLine(string text, int line)
    {
        var error = Assert.Single(Fails(text).Errors);

        Assert.Equal("mirrord.yaml", error.File);
        Assert.Equal(line, error.Position?.Line);
        Assert.StartsWith($"mirrord.yaml:{line}:", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("not valid YAML", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void KeyThatIsAListIsAnError()
    {
        var error = Assert.Single(Fails("? [a, b]\n: 1\n").Errors);

        Assert.Contains("A key must be", error.Message, StringComparison.Ordinal);
    }

    private static System.Text.Json.JsonValueKind JsonValueKind(ConfigDocument document, string key) => document.Root[key]!.GetValueKind();
}
