using System.Text.Json;
using System.Text.Json.Nodes;

namespace Doppel.Config.Binding;

/// <summary>Says what a JSON value is, for "expected X, found Y" messages.</summary>
internal static class NodeDescriptions
{
    public static string Describe(JsonNode? node)
    {
        if (node is null)
        {
            return "null";
        }

        return node.GetValueKind() switch
        {
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "a list",
            JsonValueKind.String => $"the string \"{Shorten(node.GetValue<string>())}\"",
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            JsonValueKind.Number => $"the number {node.ToJsonString()}",
            _ => "null",
        };
    }

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..37] + "...";
}
