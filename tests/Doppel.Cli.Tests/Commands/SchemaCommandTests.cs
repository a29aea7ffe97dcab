using System.Text.Json.Nodes;
using Doppel.Cli.Tests.Support;

namespace Doppel.Cli.Tests.Commands;

public sealed class SchemaCommandTests
{
    [Fact]
    public async Task CommittedSchemaIsCurrent()
    {
        var (code, console) = await CliRunner.RunAsync("schema");

        Assert.Equal(0, code);
        var committed = File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "doppel-schema.json"));
        Assert.True(committed == console.StdOut, "docs/doppel-schema.json is stale: regenerate it with 'artifacts/doppel schema > docs/doppel-schema.json'.");
    }

    [Fact]
    public async Task SchemaAcceptsTheShorthandsUsersWrite()
    {
        var (_, console) = await CliRunner.RunAsync("schema");
        var schema = JsonNode.Parse(console.StdOut)!;
        var feature = schema["properties"]!["feature"]!["properties"]!;

        var fsChoices = feature["fs"]!["anyOf"]!.AsArray().Select(c => c!["type"]?.ToString()).ToList();
        Assert.Equal(["boolean", "string", "object"], fsChoices);
        Assert.Equal(["boolean", "object"], feature["env"]!["anyOf"]!.AsArray().Select(c => c!["type"]?.ToString()));
        Assert.Equal("string", schema["properties"]!["target"]!["anyOf"]![0]!["type"]!.ToString());
        Assert.Equal(["boolean", "object"], feature["network"]!["anyOf"]!.AsArray().Select(c => c!["type"]?.ToString()));
        Assert.Contains("steal", feature["network"]!["anyOf"]![1]!["properties"]!["incoming"]!["anyOf"]![1]!["enum"]!.AsArray().Select(e => e!.ToString()));
    }
}
