using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Doppel.Config.Loading;

/// <summary>
/// Reads JSON as people write mirrord configurations: <c>//</c> and <c>/* */</c> comments and
/// trailing commas are accepted, duplicate keys are not (mirrord rejects them too). Builds the
/// <see cref="JsonObject"/> token by token so every key and array element keeps its position.
/// </summary>
internal sealed class JsonConfigReader
{
    private static readonly JsonReaderOptions s_options = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        MaxDepth = 64,
    };

    private readonly byte[] _utf8;
    private readonly string? _file;
    private readonly LineMap _lines;
    private readonly SourceMap _positions = new();
    private readonly List<ConfigError> _errors = [];

    private JsonConfigReader(string text, string? file)
    {
        _utf8 = Encoding.UTF8.GetBytes(text);
        _file = file;
        _lines = LineMap.ForUtf8(_utf8);
    }

    public static ConfigDocument Read(string text, string? file) => new JsonConfigReader(text, file).ReadDocument();

    private ConfigDocument ReadDocument()
    {
        _positions.Add(string.Empty, new SourcePosition(1, 1));
        var reader = new Utf8JsonReader(_utf8, s_options);
        JsonObject root;
        try
        {
            try
            {
                reader.Read();
            }
            catch (JsonException) when (IsBlank(_utf8))
            {
                // Nothing but whitespace and comments: mirrord (serde_json) rejects it, so it must not
                // run with the defaults here either.
                throw new ConfigException(new ConfigError(
                    "the configuration file holds no JSON object (it is empty); write {} for the defaults, or leave -f out.",
                    _file,
                    null,
                    new SourcePosition(1, 1)));
            }

            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw new ConfigException(new ConfigError(
                    $"The configuration must be a JSON object ({{ ... }}) at the top level, but this file holds {Describe(reader.TokenType)}. " +
                    "Put the settings inside { and }.",
                    _file,
                    null,
                    _lines.PositionAt(reader.TokenStartIndex)));
            }

            root = ReadObject(ref reader, string.Empty);

            // Anything but comments after the closing brace is an error; Read throws on it.
            reader.Read();
        }
        catch (JsonException e)
        {
            throw SyntaxError(e);
        }

        if (_errors.Count > 0)
        {
            throw new ConfigException(_errors);
        }

        return new ConfigDocument(root, _positions, _file);
    }

    private JsonObject ReadObject(ref Utf8JsonReader reader, string path)
    {
        var result = new JsonObject();
        while (true)
        {
            reader.Read();
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                return result;
            }

            var name = reader.GetString()!;
            var position = _lines.PositionAt(reader.TokenStartIndex);
            var childPath = SourceMap.Child(path, name);
            reader.Read();
            var value = ReadValue(ref reader, childPath);

            if (result.ContainsKey(name))
            {
                var first = _positions.TryGetExact(childPath, out var p) ? $" (first on line {p.Line})" : string.Empty;
                _errors.Add(new ConfigError(
                    $"The key \"{name}\" is written twice in the same object{first}. Keep only one of them.",
                    _file,
                    childPath,
                    position));
                continue;
            }

            _positions.Add(childPath, position);
            result.Add(name, value);
        }
    }

    private JsonArray ReadArray(ref Utf8JsonReader reader, string path)
    {
        var result = new JsonArray();
        while (true)
        {
            reader.Read();
            if (reader.TokenType == JsonTokenType.EndArray)
            {
                return result;
            }

            var elementPath = SourceMap.Element(path, result.Count);
            _positions.Add(elementPath, _lines.PositionAt(reader.TokenStartIndex));
            result.Add(ReadValue(ref reader, elementPath));
        }
    }

    private JsonNode? ReadValue(ref Utf8JsonReader reader, string path)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                return ReadObject(ref reader, path);
            case JsonTokenType.StartArray:
                return ReadArray(ref reader, path);
            case JsonTokenType.String:
                return JsonValue.Create(reader.GetString()!);
            case JsonTokenType.True:
                return JsonValue.Create(true);
            case JsonTokenType.False:
                return JsonValue.Create(false);
            case JsonTokenType.Null:
                return null;
            case JsonTokenType.Number:
                if (reader.TryGetInt64(out var integer))
                {
                    return JsonValue.Create(integer);
                }

                if (reader.TryGetDouble(out var number) && double.IsFinite(number))
                {
                    return JsonValue.Create(number);
                }

                _errors.Add(new ConfigError(
                    $"The number {Encoding.UTF8.GetString(reader.ValueSpan)} is too large. Write a smaller number.",
                    _file,
                    path,
                    _lines.PositionAt(reader.TokenStartIndex)));
                return null;
            default:
                throw new InvalidOperationException($"Unexpected JSON token {reader.TokenType} at a value position.");
        }
    }

    private ConfigException SyntaxError(JsonException e)
    {
        SourcePosition? position = e.LineNumber is { } line && e.BytePositionInLine is { } column
            ? _lines.PositionAt(line, column)
            : null;
        return new ConfigException(new ConfigError($"The file is not valid JSON: {Explain(e.Message)}", _file, null, position));
    }

    /// <summary>
    /// Says what is wrong in words a user acts on. System.Text.Json's messages name the offending
    /// character and end with its own 0-based location, which we replace with the real one.
    /// </summary>
    private static string Explain(string message)
    {
        static bool Has(string message, string part) => message.Contains(part, StringComparison.Ordinal);

        if (Has(message, "is invalid after a value. Expected either"))
        {
            return "a ',' is missing between two values, or a '}' or ']' is missing before this point.";
        }

        if (Has(message, "is an invalid start of a property name"))
        {
            return "a property name is expected here, written in double quotes (\"name\": value).";
        }

        if (Has(message, "is invalid after a property name"))
        {
            return "a ':' is missing between the property name and its value.";
        }

        if (Has(message, "is an invalid escapable character within a JSON string"))
        {
            return "a backslash in a string starts an escape sequence; write \\\\ for a backslash (a regular expression such as \\.so$ is written \"\\\\.so$\" in JSON).";
        }

        if (Has(message, "is invalid within a JSON string"))
        {
            return "a string is not closed on its line or holds a control character; close the quote, or write \\n for a line break and \\t for a tab.";
        }

        if (Has(message, "Expected end of string, but instead reached end of data"))
        {
            return "a string is not closed before the end of the file; add the closing double quote.";
        }

        if (Has(message, "Expected depth to be zero"))
        {
            return "the file ends before every '{' and '[' is closed; add the missing '}' or ']'.";
        }

        if (Has(message, "Expected end of comment"))
        {
            return "a /* comment is not closed; end it with */.";
        }

        if (Has(message, "is invalid without a matching open"))
        {
            return "this closing bracket does not match the last one opened ('[' is closed by ']', '{' by '}').";
        }

        if (Has(message, "is invalid after a single JSON value"))
        {
            return "there is more after the closing '}' of the configuration; the whole configuration must be one object.";
        }

        if (Has(message, "is an invalid JSON literal") || Has(message, "is an invalid start of a value"))
        {
            return "a value is expected here: a string in double quotes, a number, true, false, null, an object { } or an array [ ].";
        }

        var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        var text = (cut >= 0 ? message[..cut] : message).Trim();
        return text.Length > 0 ? char.ToLowerInvariant(text[0]) + text[1..] : "the text cannot be read as JSON.";
    }

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => "something else",
    };

    /// <summary>Whether the text holds nothing but whitespace and comments.</summary>
    private static bool IsBlank(byte[] utf8)
    {
        if (utf8.AsSpan().Trim(" \t\r\n"u8).IsEmpty)
        {
            return true;
        }

        var probe = new Utf8JsonReader(utf8, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Allow });
        try
        {
            while (probe.Read())
            {
                if (probe.TokenType != JsonTokenType.Comment)
                {
                    return false;
                }
            }

            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
