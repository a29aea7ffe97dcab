using System.Text.Json.Serialization;

namespace Doppel.Config;

[JsonConverter(typeof(JsonStringEnumConverter<FilterProtocol>))]
public enum FilterProtocol
{
    [JsonStringEnumMemberName("any")] Any,
    [JsonStringEnumMemberName("tcp")] Tcp,
    [JsonStringEnumMemberName("udp")] Udp,
}
