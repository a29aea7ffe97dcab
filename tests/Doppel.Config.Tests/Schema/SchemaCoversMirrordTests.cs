using System.Text.Json.Nodes;
using Doppel.Config.Schema;

namespace Doppel.Config.Tests.Schema;

/// <summary><c>doppel schema</c> lists every key mirrord has, so editors complete them all.</summary>
public sealed class SchemaCoversMirrordTests
{
    public static TheoryData<string> MirrordKeys()
    {
        var data = new TheoryData<string>();
        foreach (var line in File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Schema", "mirrord-keys.txt")))
        {
            if (line.Length > 0 && !line.StartsWith('#'))
            {
                data.Add(line);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(MirrordKeys))]
    public void SchemaListsTheMirrordKey(string path)
    {
        var node = JsonNode.Parse(ConfigSchema.Generate())!.AsObject();
        foreach (var segment in path.Split('.'))
        {
            var properties = Properties(node);
            Assert.True(properties is not null && properties.ContainsKey(segment), $"the schema has no '{segment}' of {path}");
            node = properties[segment]!.AsObject();
        }
    }

    [Fact]
    public void KeysDoppelDoesNotImplementSaySoInTheirDescription()
    {
        var schema = JsonNode.Parse(ConfigSchema.Generate())!;

        var copyTarget = schema["properties"]!["feature"]!["properties"]!["copy_target"]!;
        Assert.StartsWith("a mirrord feature that doppel does not implement yet", copyTarget["description"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("scale_down", copyTarget["properties"]!.AsObject().Select(p => p.Key));
    }

    // The properties of an object schema, or of the object choice of an anyOf (shorthand forms).
    private static JsonObject? Properties(JsonObject node) =>
        node["properties"] as JsonObject
        ?? (node["anyOf"] as JsonArray)?.Select(c => c!["properties"] as JsonObject).FirstOrDefault(p => p is not null);
}
