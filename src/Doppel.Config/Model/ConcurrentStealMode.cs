using System.Text.Json.Serialization;

namespace Doppel.Config;

[JsonConverter(typeof(JsonStringEnumConverter<ConcurrentStealMode>))]
public enum ConcurrentStealMode
{
    [JsonStringEnumMemberName("abort")] Abort,
    [JsonStringEnumMemberName("continue")] Continue,
    [JsonStringEnumMemberName("override")] Override,
}
