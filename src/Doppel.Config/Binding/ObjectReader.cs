using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Doppel.Config.Loading;

namespace Doppel.Config.Binding;

/// <summary>
/// Reads the members of one configuration object, reporting each mistake with its key path and
/// going on, so one pass finds every error. Keys it is asked for are "known"; <see cref="Finish"/>
/// reports the rest.
/// </summary>
internal sealed class ObjectReader
{
    private readonly BindContext _context;
    private readonly JsonObject _node;
    private readonly HashSet<string> _known = new(StringComparer.Ordinal);
    private bool _finished;

    public ObjectReader(BindContext context, JsonObject node, string path)
    {
        _context = context;
        _node = node;
        Path = path;
    }

    public string Path { get; }

    public BindContext Context => _context;

    public string PathOf(string key) => SourceMap.Child(Path, key);

    public bool Has(string key)
    {
        _known.Add(key);
        return _node[key] is not null;
    }

    /// <summary>The raw member (null when absent or JSON null); marks the key known.</summary>
    public JsonNode? Raw(string key)
    {
        _known.Add(key);
        return _node[key];
    }

    public void Error(string key, string message) => _context.Error(PathOf(key), message);

    public bool Bool(string key, bool fallback) => OptionalBool(key) ?? fallback;

    public bool? OptionalBool(string key)
    {
        var node = Raw(key);
        if (node is null)
        {
            return null;
        }

        if (node.GetValueKind() is JsonValueKind.True or JsonValueKind.False)
        {
            return node.GetValue<bool>();
        }

        Error(key, $"expected true or false, found {NodeDescriptions.Describe(node)}.");
        return null;
    }

    public string? String(string key)
    {
        var node = Raw(key);
        return node is null ? null : StringValue(node, PathOf(key));
    }

    public string String(string key, string fallback) => String(key) ?? fallback;

    /// <summary>
    /// A string where <c>""</c> (or only spaces) means "not set", as IDEs and generated files
    /// write optional settings; null then.
    /// </summary>
    public string? OptionalText(string key) => String(key) is { } value && !string.IsNullOrWhiteSpace(value) ? value : null;

    /// <summary>A string that must be one of <paramref name="allowed"/> (case-insensitive), returned lower-case as written in the list.</summary>
    public string? OneOf(string key, IReadOnlyList<string> allowed)
    {
        var value = String(key);
        if (value is null)
        {
            return null;
        }

        var match = allowed.FirstOrDefault(a => a.Equals(value, StringComparison.OrdinalIgnoreCase));
        if (match is null)
        {
            Error(key, $"'{value}' is not one of {string.Join(", ", allowed)}.");
        }

        return match;
    }

    public TEnum Enum<TEnum>(string key, TEnum fallback, IReadOnlyList<(string Word, TEnum Value)> words)
    {
        var value = OneOf(key, words.Select(w => w.Word).ToList());
        return value is null ? fallback : words.First(w => w.Word == value).Value;
    }

    public int Int(string key, int fallback, int min, int max) => OptionalInt(key, min, max) ?? fallback;

    public int? OptionalInt(string key, int min, int max)
    {
        var node = Raw(key);
        return node is null ? null : IntValue(node, PathOf(key), min, max);
    }

    /// <summary>A string or a list of strings; a string is split on ';' when <paramref name="splitOnSemicolon"/>.</summary>
    public IReadOnlyList<string>? StringList(string key, bool splitOnSemicolon = false)
    {
        var node = Raw(key);
        if (node is null)
        {
            return null;
        }

        if (node.GetValueKind() == JsonValueKind.String)
        {
            var s = node.GetValue<string>();
            return splitOnSemicolon
                ? s.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                : [s];
        }

        if (node is not JsonArray array)
        {
            Error(key, $"expected a list of strings, found {NodeDescriptions.Describe(node)}.");
            return null;
        }

        var result = new List<string>(array.Count);
        for (var i = 0; i < array.Count; i++)
        {
            if (StringValue(array[i], SourceMap.Element(PathOf(key), i)) is { } s)
            {
                result.Add(s);
            }
        }

        return result;
    }

    /// <summary>A list of case-insensitive regexes, each compiled now so a bad one is reported at load.</summary>
    public IReadOnlyList<string>? RegexList(string key, List<Regex>? compiled = null)
    {
        var node = Raw(key);
        var list = StringList(key);
        if (list is null)
        {
            return null;
        }

        for (var i = 0; i < list.Count; i++)
        {
            var path = node is JsonArray ? SourceMap.Element(PathOf(key), i) : PathOf(key);
            if (CompileRegex(list[i], path) is { } regex)
            {
                compiled?.Add(regex);
            }
        }

        return list;
    }

    public string? Regex(string key)
    {
        var value = String(key);
        if (value is not null)
        {
            CompileRegex(value, PathOf(key));
        }

        return value;
    }

    public Regex? CompileRegex(string pattern, string path)
    {
        try
        {
            return new Regex(pattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException e)
        {
            _context.Error(path, $"'{pattern}' is not a valid regular expression: {RegexProblem(e)}.");
            return null;
        }
    }

    /// <summary>An object of string values (numbers and booleans are taken as their text).</summary>
    public IReadOnlyDictionary<string, string>? StringMap(string key)
    {
        var node = Raw(key);
        if (node is null)
        {
            return null;
        }

        if (node is not JsonObject obj)
        {
            Error(key, $"expected an object of names to strings, found {NodeDescriptions.Describe(node)}.");
            return null;
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in obj)
        {
            var path = SourceMap.Child(PathOf(key), name);
            if (value is null)
            {
                _context.Error(path, "expected a string, found null.");
                continue;
            }

            switch (value.GetValueKind())
            {
                case JsonValueKind.String:
                    result[name] = value.GetValue<string>();
                    break;
                case JsonValueKind.Number:
                    result[name] = value.ToJsonString();
                    break;
                case JsonValueKind.True or JsonValueKind.False:
                    result[name] = value.GetValue<bool>() ? "true" : "false";
                    break;
                default:
                    _context.Error(path, $"expected a string, found {NodeDescriptions.Describe(value)}.");
                    break;
            }
        }

        return result;
    }

    /// <summary>A nested object, bound with <paramref name="bind"/>; absent → <paramref name="fallback"/>.</summary>
    public T Object<T>(string key, T fallback, Func<ObjectReader, T> bind, string expected = "an object")
    {
        var node = Raw(key);
        if (node is null)
        {
            return fallback;
        }

        if (node is not JsonObject obj)
        {
            Error(key, $"expected {expected}, found {NodeDescriptions.Describe(node)}.");
            return fallback;
        }

        var reader = new ObjectReader(_context, obj, PathOf(key));
        var result = bind(reader);
        reader.Finish();
        return result;
    }

    /// <summary>A free-form object passed through as written (Kubernetes objects such as tolerations).</summary>
    public JsonObject? RawObject(string key)
    {
        var node = Raw(key);
        if (node is null)
        {
            return null;
        }

        if (node is not JsonObject obj)
        {
            Error(key, $"expected an object, found {NodeDescriptions.Describe(node)}.");
            return null;
        }

        return (JsonObject)obj.DeepClone();
    }

    public IReadOnlyList<JsonObject>? RawObjectList(string key)
    {
        var node = Raw(key);
        if (node is null)
        {
            return null;
        }

        if (node is not JsonArray array)
        {
            Error(key, $"expected a list of objects, found {NodeDescriptions.Describe(node)}.");
            return null;
        }

        var result = new List<JsonObject>();
        for (var i = 0; i < array.Count; i++)
        {
            if (array[i] is JsonObject obj)
            {
                result.Add((JsonObject)obj.DeepClone());
            }
            else
            {
                _context.Error(SourceMap.Element(PathOf(key), i), $"expected an object, found {NodeDescriptions.Describe(array[i])}.");
            }
        }

        return result;
    }

    public IReadOnlyList<int>? PortList(string key)
    {
        var node = Raw(key);
        if (node is null)
        {
            return null;
        }

        if (node.GetValueKind() == JsonValueKind.Number)
        {
            // mirrord takes one port without the list (its VecOrSingle).
            return IntValue(node, PathOf(key), 1, 65535) is { } single ? [single] : null;
        }

        if (node is not JsonArray array)
        {
            Error(key, $"expected a list of port numbers, found {NodeDescriptions.Describe(node)}.");
            return null;
        }

        var ports = new List<int>();
        for (var i = 0; i < array.Count; i++)
        {
            if (IntValue(array[i], SourceMap.Element(PathOf(key), i), 1, 65535) is { } port)
            {
                ports.Add(port);
            }
        }

        return ports;
    }

    /// <summary><c>[[a, b], ...]</c> port pairs.</summary>
    public IReadOnlyList<PortPair>? PortPairs(string key, string shape)
    {
        var node = Raw(key);
        if (node is null)
        {
            return null;
        }

        if (node is not JsonArray array)
        {
            Error(key, $"expected a list of {shape} pairs such as [[8080, 80]], found {NodeDescriptions.Describe(node)}.");
            return null;
        }

        var pairs = new List<PortPair>();
        for (var i = 0; i < array.Count; i++)
        {
            var path = SourceMap.Element(PathOf(key), i);
            if (array[i] is not JsonArray pair || pair.Count != 2)
            {
                _context.Error(path, $"expected a pair {shape} such as [8080, 80], found {NodeDescriptions.Describe(array[i])}.");
                continue;
            }

            var a = IntValue(pair[0], SourceMap.Element(path, 0), 1, 65535);
            var b = IntValue(pair[1], SourceMap.Element(path, 1), 1, 65535);
            if (a is { } x && b is { } y)
            {
                pairs.Add(new PortPair(x, y));
            }
        }

        return pairs;
    }

    /// <summary>
    /// Reports every member nobody asked for: a mirrord key doppel does not implement is warned
    /// about (see <see cref="MirrordOnlyKeys"/>); anything else is an error naming the nearest key.
    /// Only the first call reports.
    /// </summary>
    public void Finish()
    {
        if (_finished)
        {
            return;
        }

        _finished = true;
        foreach (var (name, value) in _node)
        {
            if (_known.Contains(name))
            {
                continue;
            }

            if (MirrordOnlyKeys.Find(PathOf(name)) is { } mirrordOnly)
            {
                MirrordOnlyKeys.Report(_context, mirrordOnly, PathOf(name), value);
                continue;
            }

            _context.Error(PathOf(name), KeySuggestions.UnknownKey(name, Path, _known.Concat(MirrordOnlyKeys.NamesUnder(Path))));
        }
    }

    private string? StringValue(JsonNode? node, string path)
    {
        if (node is not null && node.GetValueKind() == JsonValueKind.String)
        {
            return node.GetValue<string>();
        }

        _context.Error(path, $"expected a string, found {NodeDescriptions.Describe(node)}.");
        return null;
    }

    private int? IntValue(JsonNode? node, string path, int min, int max)
    {
        if (node is not null && node.GetValueKind() == JsonValueKind.Number
            && long.TryParse(node.ToJsonString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            if (value < min || value > max)
            {
                _context.Error(path, $"{value} is out of range; use a whole number from {min} to {max}.");
                return null;
            }

            return (int)value;
        }

        _context.Error(path, $"expected a whole number from {min} to {max}, found {NodeDescriptions.Describe(node)}.");
        return null;
    }

    private static string RegexProblem(ArgumentException e) =>
        e is RegexParseException p ? p.Error switch
        {
            RegexParseError.InsufficientClosingParentheses => "a '(' is not closed",
            RegexParseError.InsufficientOpeningParentheses => "a ')' has no matching '('",
            RegexParseError.UnterminatedBracket => "a '[' is not closed",
            RegexParseError.QuantifierAfterNothing => "a quantifier such as '*' or '+' follows nothing",
            RegexParseError.NestedQuantifiersNotParenthesized => "quantifiers are nested without parentheses",
            RegexParseError.UnescapedEndingBackslash => "it ends with a lone '\\'",
            _ => $"{p.Error} at offset {p.Offset}",
        } : e.Message;
}
