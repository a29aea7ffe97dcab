using System.Text.Json.Nodes;
using Doppel.Config.Loading;

namespace Doppel.Config.Tests.Loading;

public sealed class SeedConfigTests
{
    public static TheoryData<string, string, ConfigFormat> SameConfigInEveryFormat() => new()
    {
        { SeedConfigs.CommentedJson, SeedConfigs.CommentedJson, ConfigFormat.Json },
        { SeedConfigs.CommentedJson, SeedConfigs.CommentedYaml, ConfigFormat.Yaml },
        { SeedConfigs.CommentedJson, SeedConfigs.CommentedToml, ConfigFormat.Toml },
        { SeedConfigs.MultiDeveloperJson, SeedConfigs.MultiDeveloperJson, ConfigFormat.Json },
        { SeedConfigs.MultiDeveloperJson, SeedConfigs.MultiDeveloperYaml, ConfigFormat.Yaml },
        { SeedConfigs.MultiDeveloperJson, SeedConfigs.MultiDeveloperToml, ConfigFormat.Toml },
        { SeedConfigs.SidecarLogsJson, SeedConfigs.SidecarLogsJson, ConfigFormat.Json },
        { SeedConfigs.SidecarLogsJson, SeedConfigs.SidecarLogsYaml, ConfigFormat.Yaml },
        { SeedConfigs.SidecarLogsJson, SeedConfigs.SidecarLogsToml, ConfigFormat.Toml },
        { SeedConfigs.PrivilegedAgentJson, SeedConfigs.PrivilegedAgentJson, ConfigFormat.Json },
        { SeedConfigs.PrivilegedAgentJson, SeedConfigs.PrivilegedAgentYaml, ConfigFormat.Yaml },
        { SeedConfigs.PrivilegedAgentJson, SeedConfigs.PrivilegedAgentToml, ConfigFormat.Toml },
        { SeedConfigs.EverythingJson, SeedConfigs.EverythingJson, ConfigFormat.Json },
        { SeedConfigs.EverythingJson, SeedConfigs.EverythingYaml, ConfigFormat.Yaml },
    };

    [Theory]
    [MemberData(nameof(SameConfigInEveryFormat))]
    public void PublishedConfigReadsToTheSameTreeInEveryFormat(string expectedJson, string text, ConfigFormat format)
    {
        var document = ConfigReader.Read(text, format, "mirrord." + format.ToString().ToLowerInvariant());

        PositionAssert.SameTree(expectedJson, document);
    }

    [Fact]
    public void LargerTomlConfigReadsToTheSameTreeAsJsonExceptForNullWhichTomlCannotWrite()
    {
        var expected = JsonNode.Parse(SeedConfigs.EverythingJson)!.AsObject();
        expected["internal_proxy"]!.AsObject().Remove("log_level");

        var document = ConfigReader.Read(SeedConfigs.EverythingToml, ConfigFormat.Toml, "mirrord.toml");

        Assert.True(JsonNode.DeepEquals(expected, document.Root), document.Root.ToJsonString());
    }

    [Fact]
    public void DocumentKeepsTheFileName()
    {
        var document = ConfigReader.Read(SeedConfigs.PrivilegedAgentJson, ConfigFormat.Json, ".mirrord/mirrord.json");

        Assert.Equal(".mirrord/mirrord.json", document.File);
    }

    public static TheoryData<ConfigFormat, string, int, int> ArrayElementPositions => new()
    {
        { ConfigFormat.Json, SeedConfigs.SidecarLogsJson, 20, 9 },
        { ConfigFormat.Yaml, SeedConfigs.SidecarLogsYaml, 15, 9 },
        { ConfigFormat.Toml, SeedConfigs.SidecarLogsToml, 14, 3 },
    };

    [Theory]
    [MemberData(nameof(ArrayElementPositions))]
    public void EveryFormatRecordsThePositionOfAnArrayElement(ConfigFormat format, string text, int line, int column)
    {
        var document = ConfigReader.Read(text, format, "f");

        PositionAssert.At(document, "feature.fs.read_write[0]", line, column);
    }

    [Theory]
    [InlineData(ConfigFormat.Json)]
    [InlineData(ConfigFormat.Yaml)]
    [InlineData(ConfigFormat.Toml)]
    public void ByteOrderMarkDoesNotShiftTheFirstLine(ConfigFormat format)
    {
        var text = format switch
        {
            ConfigFormat.Json => "\uFEFF{\"key\": \"x\"}",
            ConfigFormat.Yaml => "\uFEFFkey: x",
            _ => "\uFEFFkey = \"x\"",
        };

        var document = ConfigReader.Read(text, format, "f");

        PositionAssert.At(document, "key", 1, format == ConfigFormat.Json ? 2 : 1);
        Assert.Equal("x", (string?)document.Root["key"]);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  \n// nothing configured yet\n/* really */\n")]
    public void EmptyJsonFileIsAnErrorAsInMirrord(string text)
    {
        var e = Assert.Throws<ConfigException>(() => ConfigReader.Read(text, ConfigFormat.Json, "f.json"));

        var error = Assert.Single(e.Errors);
        Assert.Equal("the configuration file holds no JSON object (it is empty); write {} for the defaults, or leave -f out.", error.Message);
        Assert.Equal("f.json", error.File);
    }

    [Theory]
    [InlineData(ConfigFormat.Yaml, "")]
    [InlineData(ConfigFormat.Yaml, "# nothing configured yet\n")]
    [InlineData(ConfigFormat.Toml, "")]
    [InlineData(ConfigFormat.Toml, "# nothing configured yet\n")]
    public void EmptyFileIsAnEmptyConfiguration(ConfigFormat format, string text)
    {
        var document = ConfigReader.Read(text, format, "f");

        Assert.Empty(document.Root);
        PositionAssert.At(document, string.Empty, 1, 1);
    }
}
