using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Doppel.Config.Loading;

/// <summary>
/// Reads YAML into the same JSON tree as the other formats. Plain scalars are typed by the YAML 1.2
/// core schema (<c>true</c>, <c>null</c>/<c>~</c>/empty, integers, floats); quoted and block
/// scalars stay strings. Anchors and aliases work (an alias is a copy of its anchor), and so do
/// <c>&lt;&lt;</c> merge keys, which YAML configurations commonly use.
/// </summary>
/// <remarks>
/// Built on YamlDotNet's event parser, the layer the representation model (<c>YamlStream</c>) is
/// made of: the representation model rejects a duplicate key without saying where in the tree it
/// is, and surfaces some scanner failures without any position, while events give both.
/// </remarks>
internal sealed partial class YamlConfigReader
{
    private const string StringTag = "tag:yaml.org,2002:str";

    private readonly string? _file;
    private readonly LineMap _lines;
    private readonly Parser _parser;
    private readonly SourceMap _positions = new();
    private readonly List<ConfigError> _errors = [];
    private readonly Dictionary<string, JsonNode?> _anchors = new(StringComparer.Ordinal);
    private Mark _lastGood = Mark.Empty;

    private YamlConfigReader(string text, string? file)
    {
        _file = file;
        _lines = LineMap.ForText(text);
        _parser = new Parser(new StringReader(text));
    }

    public static ConfigDocument Read(string text, string? file) => new YamlConfigReader(text, file).ReadDocument();

    private ParsingEvent Current => _parser.Current!;

    private ConfigDocument ReadDocument()
    {
        _positions.Add(string.Empty, new SourcePosition(1, 1));
        JsonNode? root = null;
        try
        {
            Next(); // StreamStart
            Next();
            if (Current is DocumentStart)
            {
                Next();
                var rootEvent = Current;
                root = ReadNode(string.Empty);
                if (root is not (null or JsonObject))
                {
                    throw Error(
                        $"The configuration must be a YAML mapping (\"key: value\" lines) at the top level, but this file holds {Describe(root)}.",
                        null,
                        rootEvent.Start);
                }

                Next(); // DocumentEnd
                if (Current is DocumentStart)
                {
                    throw Error(
                        "The file holds more than one YAML document (separated by ---); a configuration is one document. Remove the second one.",
                        null,
                        Current.Start);
                }
            }
        }
        catch (YamlException e)
        {
            var reason = e.Message.TrimEnd('.');
            var hint = reason.Contains("mapping", StringComparison.Ordinal)
                ? " Check the indentation of this line and the ones above, and the ': ' after each key."
                : string.Empty;
            throw Error($"The file is not valid YAML: {char.ToLowerInvariant(reason[0])}{reason[1..]}.{hint}", null, e.Start);
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner fails this way, without a position, for example on a flow
            // collection ([ or {) that is never closed; the last event it read is the best place.
            throw Error(
                "The file is not valid YAML after this point; look for a '[', '{' or quote that is not closed.",
                null,
                _lastGood);
        }

        if (_errors.Count > 0)
        {
            throw new ConfigException(_errors);
        }

        return new ConfigDocument(root as JsonObject ?? [], _positions, _file);
    }

    private void Next()
    {
        if (_parser.Current is { } current)
        {
            _lastGood = current.End;
        }

        if (!_parser.MoveNext())
        {
            throw new YamlException(_lastGood, _lastGood, "The YAML ends unexpectedly.");
        }
    }

    /// <summary>
    /// Reads the node starting at the current event and moves past it. A null <paramref name="path"/>
    /// (keys, merge sources) records no positions.
    /// </summary>
    private JsonNode? ReadNode(string? path)
    {
        switch (Current)
        {
            case AnchorAlias alias:
                Next();
                if (!_anchors.TryGetValue(alias.Value.Value, out var anchored))
                {
                    throw Error($"The alias *{alias.Value.Value} refers to no anchor defined before it. Define &{alias.Value.Value} first.", path, alias.Start);
                }

                // Children of a copy have no positions of their own: lookups fall back to the alias.
                return anchored?.DeepClone();

            case Scalar scalar:
                Next();
                return Remember(scalar, ConvertScalar(scalar));

            case SequenceStart sequence:
                Next();
                var array = new JsonArray();
                while (Current is not SequenceEnd)
                {
                    array.Add(ReadElement(path is null ? null : SourceMap.Element(path, array.Count)));
                }

                Next();
                return Remember(sequence, array);

            case MappingStart mapping:
                Next();
                return Remember(mapping, ReadMapping(path));

            default:
                throw Error($"Unexpected YAML element ({Current.GetType().Name}).", path, Current.Start);
        }
    }

    /// <summary>Reads a sequence element, recording where its value starts.</summary>
    private JsonNode? ReadElement(string? path)
    {
        if (path is not null)
        {
            _positions.Add(path, PositionOf(Current.Start));
        }

        return ReadNode(path);
    }

    private JsonObject ReadMapping(string? path)
    {
        var result = new JsonObject();
        var merged = new List<JsonObject>();
        while (Current is not MappingEnd)
        {
            var keyEvent = Current;
            var keyNode = ReadNode(null);
            if (keyNode is JsonObject or JsonArray)
            {
                _errors.Add(new ConfigError("A key must be a plain word or string, not a list or mapping.", _file, path, PositionOf(keyEvent.Start)));
                ReadNode(null);
                continue;
            }

            var key = keyEvent is Scalar s ? s.Value : keyNode?.ToString() ?? string.Empty;
            if (keyEvent is Scalar { Style: ScalarStyle.Plain, Value: "<<" })
            {
                var mergeEvent = Current;
                CollectMerge(ReadNode(null), merged, path, mergeEvent.Start);
                continue;
            }

            var childPath = path is null ? null : SourceMap.Child(path, key);
            var position = PositionOf(keyEvent.Start);
            var value = ReadNode(childPath);
            if (result.ContainsKey(key))
            {
                var first = childPath is not null && _positions.TryGetExact(childPath, out var p) ? $" (first on line {p.Line})" : string.Empty;
                _errors.Add(new ConfigError($"The key \"{key}\" is written twice in the same mapping{first}. Keep only one of them.", _file, childPath, position));
                continue;
            }

            if (childPath is not null)
            {
                _positions.Add(childPath, position);
            }

            result.Add(key, value);
        }

        Next();

        // Keys written in the mapping win over merged ones; among merged mappings the first wins.
        foreach (var source in merged)
        {
            foreach (var (key, value) in source)
            {
                if (!result.ContainsKey(key))
                {
                    result.Add(key, value?.DeepClone());
                }
            }
        }

        return result;
    }

    private void CollectMerge(JsonNode? value, List<JsonObject> merged, string? path, Mark at)
    {
        switch (value)
        {
            case JsonObject mapping:
                merged.Add(mapping);
                break;
            case JsonArray list when list.All(item => item is JsonObject):
                merged.AddRange(list.Cast<JsonObject>());
                break;
            default:
                _errors.Add(new ConfigError("A merge key (<<) needs a mapping or a list of mappings, such as <<: *defaults.", _file, path, PositionOf(at)));
                break;
        }
    }

    private JsonNode? Remember(NodeEvent node, JsonNode? value)
    {
        if (!node.Anchor.IsEmpty)
        {
            // Re-defining an anchor is allowed in YAML; later aliases see the latest one.
            _anchors[node.Anchor.Value] = value;
        }

        return value;
    }

    private static JsonValue? ConvertScalar(Scalar scalar)
    {
        var value = scalar.Value;
        if (scalar.Style != ScalarStyle.Plain || (!scalar.Tag.IsEmpty && (scalar.Tag.Value == StringTag || scalar.Tag.Value == "!")))
        {
            return JsonValue.Create(value);
        }

        switch (value)
        {
            case "" or "~" or "null" or "Null" or "NULL":
                return null;
            case "true" or "True" or "TRUE":
                return JsonValue.Create(true);
            case "false" or "False" or "FALSE":
                return JsonValue.Create(false);
        }

        if (DecimalInteger().IsMatch(value) && long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
        {
            return JsonValue.Create(integer);
        }

        if (value.StartsWith("0x", StringComparison.Ordinal) && HexDigits().IsMatch(value.AsSpan(2))
            && long.TryParse(value.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex) && hex >= 0)
        {
            return JsonValue.Create(hex);
        }

        if (value.StartsWith("0o", StringComparison.Ordinal) && OctalDigits().IsMatch(value.AsSpan(2)) && TryParseOctal(value.AsSpan(2), out var octal))
        {
            return JsonValue.Create(octal);
        }

        // .inf and .nan are floats in YAML but have no JSON form; they stay strings, and the
        // validator then says a number was expected.
        if (Float().IsMatch(value) && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number))
        {
            return JsonValue.Create(number);
        }

        return JsonValue.Create(value);
    }

    private static bool TryParseOctal(ReadOnlySpan<char> digits, out long value)
    {
        value = 0;
        foreach (var digit in digits)
        {
            if (value > (long.MaxValue >> 3))
            {
                return false;
            }

            value = (value << 3) | (long)(digit - '0');
        }

        return true;
    }

    private SourcePosition PositionOf(Mark mark) => _lines.PositionAt(mark.Index);

    private ConfigException Error(string message, string? path, Mark at)
        => new(new ConfigError(message, _file, path, PositionOf(at)));

    private static string Describe(JsonNode? node) => node switch
    {
        JsonArray => "a list",
        JsonValue v when v.TryGetValue<string>(out _) => "a single string",
        JsonValue v when v.TryGetValue<bool>(out _) => "a single boolean",
        _ => "a single number",
    };

    [GeneratedRegex("^[-+]?[0-9]+$", RegexOptions.CultureInvariant)]
    private static partial Regex DecimalInteger();

    [GeneratedRegex("^[0-9a-fA-F]+$", RegexOptions.CultureInvariant)]
    private static partial Regex HexDigits();

    [GeneratedRegex("^[0-7]+$", RegexOptions.CultureInvariant)]
    private static partial Regex OctalDigits();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex Float();
}
