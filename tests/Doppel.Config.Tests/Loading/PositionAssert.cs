using Doppel.Config.Loading;

namespace Doppel.Config.Tests.Loading;

internal static class PositionAssert
{
    public static void At(ConfigDocument document, string keyPath, int line, int column)
    {
        Assert.True(document.Positions.TryGetExact(keyPath, out var position), $"No position recorded for \"{keyPath}\".");
        Assert.Equal(new SourcePosition(line, column), position);
    }

    public static void SameTree(string expectedJson, ConfigDocument actual)
    {
        var expected = System.Text.Json.Nodes.JsonNode.Parse(
            expectedJson,
            documentOptions: new System.Text.Json.JsonDocumentOptions
            {
                CommentHandling = System.Text.Json.JsonCommentHandling.Skip,
                AllowTrailingCommas = true,
            });
        Assert.True(
            System.Text.Json.Nodes.JsonNode.DeepEquals(expected, actual.Root),
            $"Expected:\n{expected?.ToJsonString()}\nActual:\n{actual.Root.ToJsonString()}");
    }
}
