using Doppel.Config.Tests.Support;

namespace Doppel.Config.Tests.Loading;

/// <summary>A syntax error shows the line it is on, with a caret under the column.</summary>
public sealed class SyntaxErrorExcerptTests
{
    [Theory]
    [InlineData("doppel.json", "{\n  \"feature\": {\n    \"fs\": \"read\"\n    \"env\": true\n  }\n}\n", 4, "    \"env\": true")]
    [InlineData("doppel.yaml", "feature:\n  fs: read\n   env: true\n", 3, "   env: true")]
    [InlineData("doppel.toml", "[feature]\nfs = \"read\"\nenv = \n", 3, "env = ")]
    public void SyntaxErrorShowsTheLineWithACaretUnderTheColumn(string name, string text, int line, string lineText)
    {
        var error = Assert.Single(Load.Errors(text, name));

        Assert.Equal(line, error.Position!.Value.Line);
        Assert.Equal(lineText, error.SourceLine);
        var shown = error.ToString().Split(Environment.NewLine);
        Assert.Equal(3, shown.Length);
        Assert.Contains($"{name}:{line}:{error.Position.Value.Column}: The file is not valid ", shown[0], StringComparison.Ordinal);
        Assert.Equal($"   {line} | {lineText}", shown[1]);
        Assert.Equal($"     | {new string(' ', error.Position.Value.Column - 1)}^", shown[2]);
    }

    [Fact]
    public void CaretCountsCharactersNotBytesAndKeepsTabs()
    {
        var error = new ConfigError("x", "f", null, new SourcePosition(7, 4)) { SourceLine = "\té😀z" };

        Assert.Equal($"f:7:4: x{Environment.NewLine}   7 | \té😀z{Environment.NewLine}     | \t  ^", error.ToString());
    }

    [Fact]
    public void ALongLineIsShownAroundTheColumnWithMarksWhereItWasCut()
    {
        // A 200 KB single-line JSON file with the mistake in the middle: the excerpt stays short.
        var text = "{\"a\": \"" + new string('x', 100_000) + "\", \"b\": ,\"c\": \"" + new string('y', 100_000) + "\"}";

        var error = Assert.Single(Load.Errors(text));
        var shown = error.ToString().Split(Environment.NewLine);

        Assert.Equal(3, shown.Length);
        Assert.True(shown[1].Length < 140, shown[1]);
        Assert.StartsWith("   1 | …", shown[1], StringComparison.Ordinal);
        Assert.EndsWith("…", shown[1], StringComparison.Ordinal);
        var caret = shown[2].IndexOf('^', StringComparison.Ordinal);
        Assert.Equal(",", shown[1][caret..(caret + 1)]);
    }

    [Fact]
    public void ACutLineKeepsTheCaretUnderTheColumnAndPairsWhole()
    {
        // Column 71 is index 71; 60 before it falls inside the emoji's pair, so the cut keeps the emoji.
        var line = new string('a', 10) + "😀" + new string('b', 100);
        var error = new ConfigError("x", "f", null, new SourcePosition(1, 71)) { SourceLine = line };

        var shown = error.ToString().Split(Environment.NewLine);

        Assert.Equal("   1 | …😀" + new string('b', 100), shown[1]);
        Assert.Equal("     | " + new string(' ', 61) + "^", shown[2]);
    }

    [Fact]
    public void AnUnclosedTomlStringIsOneErrorWithOneExcerpt()
    {
        var error = Assert.Single(Load.Errors("fs = \"read\n", "doppel.toml"));

        Assert.EndsWith($"doppel.toml:1:11: The file is not valid TOML: invalid newline in a string.{Environment.NewLine}   1 | fs = \"read{Environment.NewLine}     |           ^", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void TemplateErrorsShowTheLineOfTheFileAsWritten()
    {
        var error = Assert.Single(Load.Errors("{\n  \"key\": \"{{ nope( }}\"\n}"));

        Assert.Equal("  \"key\": \"{{ nope( }}\"", error.SourceLine);
    }

    [Fact]
    public void ErrorsAboutValuesShowNoExcerpt()
    {
        var error = Assert.Single(Load.Errors("{\"agent\": {\"ttl\": \"x\"}}"));

        Assert.Null(error.SourceLine);
        Assert.DoesNotContain(Environment.NewLine, error.ToString(), StringComparison.Ordinal);
    }
}
