using Doppel.Config.Templating;

namespace Doppel.Config.Tests.Templating;

public sealed class TemplateRendererTests
{
    private const string File = "/home/dev/.mirrord/mirrord.json";

    // shared/examples/seed-multi-developer.json, byte for byte.
    private static string SeedMultiDeveloper => Loading.SeedConfigs.MultiDeveloperJson;

    [Fact]
    public void SeedMultiDeveloperRendersTheUserIntoTheHeaderFilter()
    {
        var rendered = Render(SeedMultiDeveloper, new() { ["USER"] = "alice" });

        Assert.Equal(SeedMultiDeveloper.Replace("{{ get_env(name=\\\"USER\\\", default=\\\"unknown\\\") }}", "alice"), rendered);
        Assert.Contains("\"header_filter\": \"^X-Dev-User: alice$\"", rendered);
        Assert.Equal(SeedMultiDeveloper.Split('\n').Length, rendered.Split('\n').Length);
    }

    [Fact]
    public void SeedMultiDeveloperFallsBackToTheDefaultWithoutUser()
    {
        var rendered = Render(SeedMultiDeveloper);

        Assert.Contains("\"header_filter\": \"^X-Dev-User: unknown$\"", rendered);
    }

    [Fact]
    public void TextWithoutTemplatesIsReturnedUnchanged()
    {
        const string text = "{\n  \"a\": { \"b\": [1, 2] },\n  \"c\": \"}} #} %} { {\"\n}\n";

        Assert.Same(text, Render(text));
    }

    [Theory]
    [InlineData("{{ get_env(name=\"USER\") }}")]
    [InlineData("{{ get_env(name='USER') }}")]
    [InlineData("{{ get_env(name=`USER`) }}")]
    [InlineData("{{ get_env(name=\\\"USER\\\") }}")]
    [InlineData("{{ get_env(name=\\'USER\\') }}")]
    [InlineData("{{get_env( name = \"USER\" , )}}")]
    public void GetEnvAcceptsEveryQuoteStyle(string template)
    {
        Assert.Equal("<bob>", Render("<" + template + ">", new() { ["USER"] = "bob" }));
    }

    [Fact]
    public void EscapedQuotesKeepTheSurroundingJsonStringValid()
    {
        const string text = "{\"filter\": \"{{ get_env(name=\\\"TEAM\\\", default=\\\"core\\\") | upper }}-.*\"}";

        var rendered = Render(text);

        Assert.Equal("{\"filter\": \"CORE-.*\"}", rendered);
        using var json = System.Text.Json.JsonDocument.Parse(rendered);
        Assert.Equal("CORE-.*", json.RootElement.GetProperty("filter").GetString());
    }

    [Fact]
    public void GetEnvPrefersTheVariableOverTheDefault()
    {
        Assert.Equal("db.internal", Render("{{ get_env(name=\"DB_HOST\", default=\"localhost\") }}", new() { ["DB_HOST"] = "db.internal" }));
    }

    [Fact]
    public void GetEnvUsesTheDefaultWhenTheVariableIsUnset()
    {
        Assert.Equal("localhost", Render("{{ get_env(name=\"DB_HOST\", default=\"localhost\") }}"));
    }

    [Fact]
    public void GetEnvKeepsAVariableSetToTheEmptyString()
    {
        Assert.Equal("[]", Render("[{{ get_env(name=\"EMPTY\", default=\"x\") }}]", new() { ["EMPTY"] = string.Empty }));
    }

    [Fact]
    public void GetEnvWithoutDefaultNamesTheMissingVariable()
    {
        var error = RenderError("{\n  \"host\": \"{{ get_env(name=\"DB_HOST\") }}\"\n}\n");

        Assert.Equal(
            "environment variable 'DB_HOST' is not set and the template gives no default; set it or add default=\"...\".",
            error.Message);
        Assert.Equal(File, error.File);
        Assert.Equal(new SourcePosition(2, 15), error.Position);
    }

    [Fact]
    public void DefaultFilterAppliesToAnUnsetVariableWithoutDefault()
    {
        Assert.Equal("guest", Render("{{ get_env(name=\"USER\") | default(value=\"guest\") }}"));
        Assert.Equal("eve", Render("{{ get_env(name=\"USER\") | default(value=\"guest\") }}", new() { ["USER"] = "eve" }));
    }

    [Fact]
    public void DefaultFilterKeepsAnEmptyStringAsTeraDoes()
    {
        Assert.Equal("[]", Render("[{{ get_env(name=\"USER\") | default(value=\"guest\") }}]", new() { ["USER"] = string.Empty }));
    }

    [Theory]
    [InlineData("{{ \"MiXeD\" | lower }}", "mixed")]
    [InlineData("{{ \"MiXeD\" | upper }}", "MIXED")]
    [InlineData("{{ \" \t padded \n\" | trim }}", "padded")]
    [InlineData("{{ '  padded  ' | trim }}", "padded")]
    [InlineData("{{ \"feature/login\" | replace(from=\"/\", to=\"-\") }}", "feature-login")]
    [InlineData("{{ \"a.b.c\" | replace(from='.', to='') }}", "abc")]
    [InlineData("{{ \"kept\" | default(value=\"unused\") }}", "kept")]
    [InlineData("{{ \"x\" ~ \"-\" ~ 42 }}", "x-42")]
    public void EachFilterTransformsItsInput(string template, string expected)
    {
        Assert.Equal(expected, Render(template));
    }

    [Fact]
    public void FiltersChainLeftToRight()
    {
        const string template = "{{ get_env(name=\"USER\") | default(value=\"  Jane.Doe \") | trim | lower | replace(from=\".\", to=\"-\") | upper }}";

        Assert.Equal("JANE-DOE", Render(template));
        Assert.Equal("J-SMITH", Render(template, new() { ["USER"] = "j.smith" }));
    }

    [Fact]
    public void KeyRendersTheSessionKey()
    {
        Assert.Equal("session-abc", Render("session-{{ key }}", key: "abc"));
    }

    [Fact]
    public void UnsetKeySaysWhatSetsIt()
    {
        var error = RenderError("{{ key }}");

        Assert.Contains("'key'", error.Message);
        Assert.Contains("MIRRORD_KEY", error.Message);
        Assert.Contains("--key", error.Message);
        Assert.Equal(new SourcePosition(1, 4), error.Position);
    }

    [Fact]
    public void UnsetKeyCanFallBackToADefault()
    {
        Assert.Equal("shared", Render("{{ key | default(value=\"shared\") }}"));
    }

    [Fact]
    public void GitBranchRendersTheBranch()
    {
        Assert.Equal("feature-login", Render("{{ git_branch | replace(from=\"/\", to=\"-\") }}", branch: () => "feature/login"));
    }

    [Fact]
    public void UnknownGitBranchSaysWhatSetsIt()
    {
        var error = RenderError("a\n{{ git_branch }}", branch: () => null);

        Assert.Contains("'git_branch'", error.Message);
        Assert.Contains("MIRRORD_BRANCH_NAME", error.Message);
        Assert.Equal(new SourcePosition(2, 4), error.Position);
    }

    [Fact]
    public void GitBranchIsOnlyWorkedOutWhenUsedAndThenOnce()
    {
        var calls = 0;
        string? Branch()
        {
            calls++;
            return "main";
        }

        Assert.Equal("x", Render("{{ get_env(name=\"A\", default=\"x\") }}", branch: Branch));
        Assert.Equal(0, calls);

        Assert.Equal("main/main", Render("{{ git_branch }}/{{ git_branch }}", branch: Branch));
        Assert.Equal(1, calls);
    }

    [Fact]
    public void UnknownFunctionIsNamedWithTheKnownOnes()
    {
        var error = RenderError("{\n  \"a\": 1,\n  \"user\": \"{{ get_envv(name=\"USER\") }}\"\n}");

        Assert.Equal("the template calls an unknown function 'get_envv'; the known functions are get_env.", error.Message);
        Assert.Equal(new SourcePosition(3, 15), error.Position);
    }

    [Fact]
    public void UnknownVariableIsNamedWithTheKnownOnes()
    {
        var error = RenderError("\n\n   {{ branch }}");

        Assert.Equal("the template uses an unknown variable 'branch'; the known variables are key and git_branch.", error.Message);
        Assert.Equal(new SourcePosition(3, 7), error.Position);
    }

    [Fact]
    public void UnknownFilterIsNamedWithTheKnownOnes()
    {
        var error = RenderError("line one\nline two {{ key | lowercase }}", key: "k");

        Assert.Equal("the template uses an unknown filter 'lowercase'; the known filters are lower, upper, trim, replace and default.", error.Message);
        Assert.Equal(new SourcePosition(2, 19), error.Position);
    }

    [Fact]
    public void UnknownArgumentNamesTheArgumentAndTheKnownOnes()
    {
        var error = RenderError("{{ get_env(nme=\"USER\") }}");

        Assert.Equal("the function 'get_env' has no argument 'nme'; its arguments are name and default.", error.Message);
        Assert.Equal(new SourcePosition(1, 12), error.Position);
    }

    [Fact]
    public void GetEnvWithoutNameIsAnError()
    {
        var error = RenderError("{{ get_env(default=\"x\") }}");

        Assert.Equal("the function 'get_env' needs the argument 'name', for example get_env(name=\"USER\", default=\"unknown\").", error.Message);
    }

    [Fact]
    public void PositionalArgumentsAreAnError()
    {
        var error = RenderError("{{ get_env(\"USER\") }}");

        Assert.StartsWith("the arguments of 'get_env' must be named", error.Message);
    }

    [Theory]
    [InlineData("{{ \"a\" | replace(from=\"a\") }}", "the filter 'replace' needs the argument 'to'")]
    [InlineData("{{ \"a\" | lower(x=\"y\") }}", "the filter 'lower' takes no arguments")]
    [InlineData("{{ get_env(name=\"A\", name=\"B\") }}", "the argument 'name' of 'get_env' is given twice")]
    [InlineData("{{ }}", "the template block is empty")]
    [InlineData("{{ get_env(name=\"A\" }}", "unexpected end of the block '}}'")]
    [InlineData("{{ key key }}", "unexpected name 'key'")]
    [InlineData("{{ get_env(name=\"A) }}", "the string that starts here with \" is never closed")]
    [InlineData("{{ $HOME }}", "unexpected character '$'")]
    [InlineData("{% if true %}x{% endif %}", "the template uses a Tera statement")]
    public void MalformedBlocksAreErrors(string template, string messageStart)
    {
        Assert.StartsWith(messageStart, RenderError(template, key: "k").Message);
    }

    [Fact]
    public void UnclosedBlockPointsAtItsOpening()
    {
        var error = RenderError("{\n  \"a\": {{ get_env(name=\"USER\")\n}\n");

        Assert.Equal("the template block opened here with '{{' is never closed; add '}}' after the expression.", error.Message);
        Assert.Equal(new SourcePosition(2, 8), error.Position);
    }

    [Fact]
    public void UnclosedBlockInsideAJsonStringIsReportedAsUnclosed()
    {
        var error = RenderError("{\n  \"a\": \"{{ get_env(name=\\\"USER\\\")\"\n}\n");

        Assert.StartsWith("the template block opened here with '{{' is never closed", error.Message);
        Assert.Equal(new SourcePosition(2, 9), error.Position);
    }

    [Fact]
    public void BlockLeftOpenBeforeTheNextOneIsReportedAtItsOpening()
    {
        var exception = Assert.Throws<ConfigException>(
            () => Render("{\n  \"a\": \"{{ get_env(name=\\\"USER\\\")\",\n  \"b\": \"{{ nope }}\"\n}\n"));

        Assert.Collection(
            exception.Errors,
            e =>
            {
                Assert.Equal("the template block opened here with '{{' is not closed before the next one at line 3; add '}}' after the expression.", e.Message);
                Assert.Equal(new SourcePosition(2, 9), e.Position);
            },
            e => Assert.StartsWith("the template uses an unknown variable 'nope'", e.Message));
    }

    [Fact]
    public void UnclosedCommentIsAnError()
    {
        var error = RenderError("a\nb {# never closed");

        Assert.StartsWith("the template comment opened here with '{#' is never closed", error.Message);
        Assert.Equal(new SourcePosition(2, 3), error.Position);
    }

    [Fact]
    public void EveryBrokenBlockIsReported()
    {
        var exception = Assert.Throws<ConfigException>(() => Render("{{ nope() }}\n{{ get_env(name=\"UNSET\") }}\n{{ \"ok\" | shout }}\n"));

        Assert.Collection(
            exception.Errors,
            e => Assert.Equal((1, "the template calls an unknown function 'nope'"), (e.Position!.Value.Line, e.Message[..e.Message.IndexOf(';')])),
            e => Assert.Equal((2, "environment variable 'UNSET' is not set and the template gives no default"), (e.Position!.Value.Line, e.Message[..e.Message.IndexOf(';')])),
            e => Assert.Equal((3, "the template uses an unknown filter 'shout'"), (e.Position!.Value.Line, e.Message[..e.Message.IndexOf(';')])));
    }

    [Fact]
    public void CommentsAreRemoved()
    {
        Assert.Equal("{\n  \"a\": 1\n}", Render("{\n  {# why a is 1 {{ not rendered }} #}\"a\": 1\n}"));
    }

    [Fact]
    public void WhitespaceControlTrimsLikeTera()
    {
        Assert.Equal("a[x]b", Render("a  \n {{- \"[x]\" -}} \n\t b"));
        Assert.Equal("a  xb", Render("a  {{ \"x\" -}}\n b"));
        Assert.Equal("ax \n", Render("a \n{{- \"x\" }} \n"));
        Assert.Equal("ab", Render("a {#- note -#} b"));
        Assert.Equal("a b", Render("a {# note #}b"));
    }

    [Fact]
    public void MultiLineFilesReportTheLineOfTheBrokenBlock()
    {
        const string text = """
            # comment
            [feature.env]
            include = "{{ get_env(name='A', default='x') }}"

            [target]
            path = "deployment/{{ get_env(name='APP') }}"
            """;

        var error = RenderError(text);

        Assert.Equal(new SourcePosition(6, 23), error.Position);
        Assert.Contains("'APP'", error.Message);
    }

    [Fact]
    public void RenderingKeepsTheLineCount()
    {
        const string text = "{\n  \"a\": \"{{ get_env(name=\\\"A\\\", default=\\\"1\\\") }}\",\n  {# c #}\n  \"b\": \"{{ key }}\"\n}\n";

        var rendered = Render(text, key: "k");

        Assert.Equal("{\n  \"a\": \"1\",\n  \n  \"b\": \"k\"\n}\n", rendered);
    }

    [Fact]
    public void ErrorsWithoutAFileCarryOnlyThePosition()
    {
        var exception = Assert.Throws<ConfigException>(() => TemplateRenderer.Render("{{ nope }}", Context(), file: null));

        var error = Assert.Single(exception.Errors);
        Assert.Null(error.File);
        Assert.StartsWith("line 1:4: ", error.ToString());
    }

    private static TemplateContext Context(Dictionary<string, string>? environment = null, string? key = null, Func<string?>? branch = null)
    {
        var variables = environment ?? [];
        return new TemplateContext(name => variables.GetValueOrDefault(name), key, branch);
    }

    private static string Render(string text, Dictionary<string, string>? environment = null, string? key = null, Func<string?>? branch = null) =>
        TemplateRenderer.Render(text, Context(environment, key, branch), File);

    private static ConfigError RenderError(string text, Dictionary<string, string>? environment = null, string? key = null, Func<string?>? branch = null)
    {
        var exception = Assert.Throws<ConfigException>(() => Render(text, environment, key, branch));
        return Assert.Single(exception.Errors);
    }
}
