using System.Text.Json.Serialization;

namespace Doppel.Config;

[JsonConverter(typeof(JsonStringEnumConverter<IncomingMode>))]
public enum IncomingMode
{
    [JsonStringEnumMemberName("mirror")] Mirror,
    [JsonStringEnumMemberName("steal")] Steal,
    [JsonStringEnumMemberName("off")] Off,
}
