using System.Text.Json;
using System.Text.Json.Serialization;

namespace Doppel.Config.Output;

/// <summary>Writes a <see cref="PortPair"/> the way users write it: <c>[8080, 80]</c>.</summary>
internal sealed class PortPairConverter : JsonConverter<PortPair>
{
    public override PortPair Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartArray || !reader.Read())
        {
            throw new JsonException("A port pair is written [a, b].");
        }

        var first = reader.GetInt32();
        reader.Read();
        var second = reader.GetInt32();
        reader.Read();
        if (reader.TokenType != JsonTokenType.EndArray)
        {
            throw new JsonException("A port pair has exactly two ports.");
        }

        return new PortPair(first, second);
    }

    public override void Write(Utf8JsonWriter writer, PortPair value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        writer.WriteNumberValue(value.First);
        writer.WriteNumberValue(value.Second);
        writer.WriteEndArray();
    }
}
