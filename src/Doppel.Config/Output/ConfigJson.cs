using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Doppel.Config.Output;

/// <summary>The resolved configuration as JSON, for <c>verify-config</c> and the agent hand-over.</summary>
public static class ConfigJson
{
    private static readonly JsonSerializerOptions s_options = new(ConfigJsonContext.Default.Options)
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static readonly ConfigJsonContext s_context = new(s_options);

    public static string Serialize(DoppelConfig config) => JsonSerializer.Serialize(config, s_context.DoppelConfig);

    public static JsonNode ToNode(DoppelConfig config) => JsonSerializer.SerializeToNode(config, s_context.DoppelConfig)!;
}
