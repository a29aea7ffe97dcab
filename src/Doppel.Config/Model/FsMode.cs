using System.Text.Json.Serialization;

namespace Doppel.Config;

[JsonConverter(typeof(JsonStringEnumConverter<FsMode>))]
public enum FsMode
{
    [JsonStringEnumMemberName("local")] Local,
    [JsonStringEnumMemberName("localwithoverrides")] LocalWithOverrides,
    [JsonStringEnumMemberName("read")] Read,
    [JsonStringEnumMemberName("write")] Write,
}
