using Doppel.Config.Loading;

namespace Doppel.Config.Tests.Loading;

public sealed class ConfigFormatsTests
{
    [Theory]
    [InlineData(".mirrord/mirrord.json", ConfigFormat.Json)]
    [InlineData("mirrord.jsonc", ConfigFormat.Json)]
    [InlineData("/etc/doppel/config", ConfigFormat.Json)]
    [InlineData("config.", ConfigFormat.Json)]
    [InlineData("/home/me/.mirrord", ConfigFormat.Json)]
    [InlineData("mirrord.JSON", ConfigFormat.Json)]
    [InlineData("mirrord.yaml", ConfigFormat.Yaml)]
    [InlineData("some.dir/mirrord.yml", ConfigFormat.Yaml)]
    [InlineData("mirrord.toml", ConfigFormat.Toml)]
    [InlineData("Mirrord.Toml", ConfigFormat.Toml)]
    [InlineData(null, ConfigFormat.Json)]
    [InlineData("", ConfigFormat.Json)]
    public void ExtensionChoosesTheFormat(string? path, ConfigFormat expected)
    {
        Assert.Equal(expected, ConfigFormats.FromPath(path));
    }

    [Theory]
    [InlineData("mirrord.ini", ".ini")]
    [InlineData("mirrord.json5", ".json5")]
    [InlineData("some.yaml/mirrord.txt", ".txt")]
    public void UnknownExtensionIsAnErrorThatListsTheAcceptedOnes(string path, string extension)
    {
        var error = Assert.Single(Assert.Throws<ConfigException>(() => ConfigFormats.FromPath(path)).Errors);

        Assert.Equal(path, error.File);
        Assert.Contains(extension, error.Message, StringComparison.Ordinal);
        foreach (var accepted in new[] { ".json", ".jsonc", ".yaml", ".yml", ".toml" })
        {
            Assert.Contains(accepted, error.Message, StringComparison.Ordinal);
        }
    }
}
