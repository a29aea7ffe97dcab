using System.Text.Json.Serialization;

namespace Doppel.Config.Output;

/// <summary>Source-generated (AOT-safe) serialization of the resolved configuration, in mirrord's key names.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(DoppelConfig))]
internal sealed partial class ConfigJsonContext : JsonSerializerContext;
