using System.Text.Json.Nodes;
using Tomlyn.Parsing;
using Tomlyn.Syntax;

namespace Doppel.Config.Loading;

/// <summary>
/// Reads TOML into the same JSON tree as the other formats, from Tomlyn's syntax tree (which keeps
/// positions) after Tomlyn's own validation (duplicate keys, re-opened tables). Tables, arrays of
/// tables, dotted keys and inline tables become objects and arrays; dates and times become their
/// RFC 3339 strings.
/// </summary>
/// <remarks>
/// Positions: a member is where its key segment is written (in <c>a.b.c = 1</c> and in
/// <c>[a.b.c]</c>, <c>a.b</c> is at the <c>b</c>), the first time it is written; an element of an
/// array of tables is at its <c>[[</c> header; other array elements at their value.
/// </remarks>
internal sealed class TomlConfigReader
{
    private readonly string? _file;
    private readonly SourceMap _positions = new();

    private TomlConfigReader(string? file)
    {
        _file = file;
    }

    public static ConfigDocument Read(string text, string? file) => new TomlConfigReader(file).ReadDocument(text);

    private ConfigDocument ReadDocument(string text)
    {
        var document = SyntaxParser.Parse(text, _file ?? string.Empty, validate: true);
        if (document.HasErrors)
        {
            var errors = new List<ConfigError>();
            foreach (var diagnostic in document.Diagnostics)
            {
                // Tomlyn may report one mistake twice at the same spot (an unclosed string: the newline, then the end
                // of the file); the first says it best, and two caret blocks for one spot read as two mistakes.
                if (diagnostic.Kind == DiagnosticMessageKind.Error
                    && PositionOf(diagnostic.Span.Start) is var at && !errors.Exists(e => e.Position == at))
                {
                    errors.Add(new ConfigError($"The file is not valid TOML: {Sentence(diagnostic.Message)}", _file, null, at));
                }
            }

            throw new ConfigException(errors);
        }

        _positions.Add(string.Empty, new SourcePosition(1, 1));
        var root = new JsonObject();
        AddKeyValues(root, string.Empty, document.KeyValues);
        foreach (var table in document.Tables)
        {
            var segments = Segments(table.Name!);
            var (parent, parentPath) = Descend(root, string.Empty, segments, segments.Count - 1);
            var (name, nameNode) = segments[^1];
            var path = SourceMap.Child(parentPath, name);
            _positions.Add(path, PositionOf(nameNode));

            JsonObject target;
            if (table is TableArraySyntax)
            {
                if (!parent.TryGetPropertyValue(name, out var existing) || existing is null)
                {
                    existing = new JsonArray();
                    parent[name] = existing;
                }

                var array = existing as JsonArray ?? throw Conflict(name, path, nameNode);
                target = [];
                path = SourceMap.Element(path, array.Count);
                _positions.Add(path, PositionOf(table));
                array.Add((JsonNode)target);
            }
            else
            {
                (target, path) = Open(parent, parentPath, name, nameNode);
            }

            AddKeyValues(target, path, table.Items);
        }

        return new ConfigDocument(root, _positions, _file);
    }

    private void AddKeyValues(JsonObject table, string tablePath, IEnumerable<KeyValueSyntax> keyValues)
    {
        foreach (var keyValue in keyValues)
        {
            var segments = Segments(keyValue.Key!);
            var (parent, parentPath) = Descend(table, tablePath, segments, segments.Count - 1);
            var (name, nameNode) = segments[^1];
            var path = SourceMap.Child(parentPath, name);
            if (parent.ContainsKey(name))
            {
                // Tomlyn's validation reports this first; kept so a gap there cannot lose a value.
                throw new ConfigException(new ConfigError($"The key \"{name}\" is written twice. Keep only one of them.", _file, path, PositionOf(nameNode)));
            }

            _positions.Add(path, PositionOf(nameNode));
            parent.Add(name, Convert(keyValue.Value!, path));
        }
    }

    /// <summary>
    /// Walks the first <paramref name="count"/> key segments from <paramref name="start"/>,
    /// creating tables that do not exist yet and entering the last table of an array of tables.
    /// </summary>
    private (JsonObject Table, string Path) Descend(JsonObject start, string startPath, List<(string Name, SyntaxNode Node)> segments, int count)
    {
        var table = start;
        var path = startPath;
        for (var i = 0; i < count; i++)
        {
            var (name, node) = segments[i];
            (table, path) = Open(table, path, name, node);
        }

        return (table, path);
    }

    private (JsonObject Table, string Path) Open(JsonObject parent, string parentPath, string name, SyntaxNode node)
    {
        var path = SourceMap.Child(parentPath, name);
        _positions.Add(path, PositionOf(node));
        if (!parent.TryGetPropertyValue(name, out var child) || child is null)
        {
            var created = new JsonObject();
            parent[name] = created;
            return (created, path);
        }

        return child switch
        {
            JsonObject existing => (existing, path),
            JsonArray { Count: > 0 } array when array[^1] is JsonObject last => (last, SourceMap.Element(path, array.Count - 1)),
            _ => throw Conflict(name, path, node),
        };
    }

    private JsonNode? Convert(ValueSyntax value, string path)
    {
        switch (value)
        {
            case StringValueSyntax s:
                return JsonValue.Create(s.Value ?? string.Empty);
            case IntegerValueSyntax i:
                return JsonValue.Create(i.Value);
            case FloatValueSyntax f:
                // inf and nan have no JSON form; they stay text and the validator then says a
                // number was expected.
                return double.IsFinite(f.Value) ? JsonValue.Create(f.Value) : JsonValue.Create(f.Token?.Text ?? f.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
            case BooleanValueSyntax b:
                return JsonValue.Create(b.Value);
            case DateTimeValueSyntax d:
                return JsonValue.Create(d.Value.ToString());
            case ArraySyntax array:
                var items = new JsonArray();
                foreach (var item in array.Items)
                {
                    var elementPath = SourceMap.Element(path, items.Count);
                    _positions.Add(elementPath, PositionOf(item.Value!));
                    items.Add(Convert(item.Value!, elementPath));
                }

                return items;
            case InlineTableSyntax inline:
                var table = new JsonObject();
                AddKeyValues(table, path, inline.Items.Select(item => item.KeyValue!));
                return table;
            default:
                throw new ConfigException(new ConfigError($"This TOML value ({value.Kind}) is not supported.", _file, path, PositionOf(value)));
        }
    }

    private static List<(string Name, SyntaxNode Node)> Segments(KeySyntax key)
    {
        var segments = new List<(string, SyntaxNode)> { (KeyText(key.Key!), key.Key!) };
        foreach (var dotted in key.DotKeys)
        {
            segments.Add((KeyText(dotted.Key!), dotted.Key!));
        }

        return segments;
    }

    private static string KeyText(BareKeyOrStringValueSyntax key) => key switch
    {
        BareKeySyntax bare => bare.Key?.Text ?? string.Empty,
        StringValueSyntax quoted => quoted.Value ?? string.Empty,
        _ => key.ToString() ?? string.Empty,
    };

    private ConfigException Conflict(string name, string path, SyntaxNode node)
        => new(new ConfigError($"The key \"{name}\" already holds a value, so it cannot also be a table. Rename one of them.", _file, path, PositionOf(node)));

    private static SourcePosition PositionOf(SyntaxNode node) => PositionOf(node.Span.Start);

    // Tomlyn's lines and columns are 0-based and its columns count characters, as ours do.
    private static SourcePosition PositionOf(TextPosition position) => new(position.Line + 1, position.Column + 1);

    private static string Sentence(string message)
    {
        var text = message.Trim().TrimEnd('.');
        return text.Length == 0 ? "the text cannot be read as TOML." : char.ToLowerInvariant(text[0]) + text[1..] + ".";
    }
}
