using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Doppel.Protocol.Incoming;

/// <summary>
/// A JSONPath query (RFC 9535) of the subset doppel evaluates for mirrord's JSON body filter
/// (<c>{"body": "json", "query": ..., "matches": ...}</c>): the root <c>$</c>, then any number
/// of segments — <c>.name</c>, <c>.*</c>, <c>['name']</c> / <c>["name"]</c>, <c>[*]</c>,
/// <c>[3]</c> / <c>[-1]</c>, slices <c>[start:end:step]</c>, unions <c>[0, 'a', 2:4]</c>, and
/// descendant segments <c>..name</c>, <c>..*</c>, <c>..[...]</c>. Filter selectors
/// (<c>[?...]</c>, including mirrord's <c>typeof</c> extension) are not supported: parsing
/// one fails with a sentence saying so, so a session never sends a query the agent would
/// evaluate differently from mirrord.
/// </summary>
/// <remarks>
/// Lives in the protocol project because the query text is part of the session ↔ agent
/// contract: the session checks it before subscribing, the agent evaluates it. Evaluation walks
/// a <see cref="JsonElement"/> (System.Text.Json's reader-based DOM; no reflection, AOT-clean)
/// and yields the selected nodes in RFC 9535 order (document order for descendants).
/// </remarks>
public sealed class JsonPathQuery
{
    // RFC 9535 §2.1: integers in a query are within the I-JSON range.
    private const long MaxInteger = (1L << 53) - 1;

    private readonly Segment[] _segments;

    private JsonPathQuery(string text, Segment[] segments)
    {
        Text = text;
        _segments = segments;
    }

    /// <summary>The query as written.</summary>
    public string Text { get; }

    /// <summary>
    /// Parses <paramref name="text"/>; on failure <paramref name="problem"/> is a sentence
    /// fragment without a final period naming what is wrong and where (0-based character
    /// offset), e.g. <c>filter selectors ([?...]) are not supported (at 7)</c>.
    /// </summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out JsonPathQuery? query, [NotNullWhen(false)] out string? problem)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parser = new Parser(text);
        if (parser.TryParse(out var segments, out problem))
        {
            query = new JsonPathQuery(text, segments);
            return true;
        }

        query = null;
        return false;
    }

    /// <summary>Adds the nodes the query selects from <paramref name="root"/> to <paramref name="into"/>, in order.</summary>
    public void Select(JsonElement root, List<JsonElement> into)
    {
        ArgumentNullException.ThrowIfNull(into);
        List<JsonElement> current = [root];
        List<JsonElement> next = [];
        foreach (var segment in _segments)
        {
            next.Clear();
            foreach (var node in current)
            {
                if (segment.Descendant)
                {
                    ApplyToDescendants(node, segment.Selectors, next);
                }
                else
                {
                    Apply(node, segment.Selectors, next);
                }
            }

            (current, next) = (next, current);
        }

        into.AddRange(current);
    }

    private static void ApplyToDescendants(JsonElement node, Selector[] selectors, List<JsonElement> into)
    {
        Apply(node, selectors, into);
        if (node.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in node.EnumerateObject())
            {
                ApplyToDescendants(property.Value, selectors, into);
            }
        }
        else if (node.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in node.EnumerateArray())
            {
                ApplyToDescendants(item, selectors, into);
            }
        }
    }

    private static void Apply(JsonElement node, Selector[] selectors, List<JsonElement> into)
    {
        foreach (var selector in selectors)
        {
            switch (selector.Kind)
            {
                case SelectorKind.Name when node.ValueKind == JsonValueKind.Object:
                    if (node.TryGetProperty(selector.Name!, out var value))
                    {
                        into.Add(value);
                    }

                    break;
                case SelectorKind.Wildcard when node.ValueKind == JsonValueKind.Object:
                    foreach (var property in node.EnumerateObject())
                    {
                        into.Add(property.Value);
                    }

                    break;
                case SelectorKind.Wildcard when node.ValueKind == JsonValueKind.Array:
                    into.AddRange(node.EnumerateArray());
                    break;
                case SelectorKind.Index when node.ValueKind == JsonValueKind.Array:
                    var length = node.GetArrayLength();
                    var index = selector.Start >= 0 ? selector.Start : length + selector.Start;
                    if (index >= 0 && index < length)
                    {
                        into.Add(node[(int)index]);
                    }

                    break;
                case SelectorKind.Slice when node.ValueKind == JsonValueKind.Array:
                    Slice(node, selector, into);
                    break;
            }
        }
    }

    /// <summary>RFC 9535 §2.3.4.2.2: normalise the bounds, then step through them.</summary>
    private static void Slice(JsonElement array, Selector slice, List<JsonElement> into)
    {
        long length = array.GetArrayLength();
        var step = slice.Step;
        if (step == 0)
        {
            return;
        }

        var start = slice.HasStart ? Normalize(slice.Start, length) : (step > 0 ? 0 : length - 1);
        var end = slice.HasEnd ? Normalize(slice.End, length) : (step > 0 ? length : -length - 1);
        if (step > 0)
        {
            var lower = Math.Min(Math.Max(start, 0), length);
            var upper = Math.Min(Math.Max(end, 0), length);
            for (var i = lower; i < upper; i += step)
            {
                into.Add(array[(int)i]);
            }
        }
        else
        {
            var upper = Math.Min(Math.Max(start, -1), length - 1);
            var lower = Math.Min(Math.Max(end, -1), length - 1);
            for (var i = upper; lower < i; i += step)
            {
                into.Add(array[(int)i]);
            }
        }

        static long Normalize(long i, long length) => i >= 0 ? i : length + i;
    }

    private enum SelectorKind
    {
        Name,
        Wildcard,
        Index,
        Slice,
    }

    private sealed record Selector(SelectorKind Kind, string? Name = null, long Start = 0, long End = 0, long Step = 1, bool HasStart = false, bool HasEnd = false);

    private sealed record Segment(bool Descendant, Selector[] Selectors);

    private ref struct Parser(string text)
    {
        private readonly string _text = text;
        private int _at;

        public bool TryParse([NotNullWhen(true)] out Segment[]? segments, [NotNullWhen(false)] out string? problem)
        {
            segments = null;
            if (_text.Length == 0 || _text[0] != '$')
            {
                problem = "a JSONPath query starts with '$' (the document root)";
                return false;
            }

            _at = 1;
            var list = new List<Segment>();
            while (true)
            {
                SkipBlank();
                if (_at >= _text.Length)
                {
                    break;
                }

                if (!TrySegment(out var segment, out problem))
                {
                    return false;
                }

                list.Add(segment);
            }

            segments = [.. list];
            problem = null;
            return true;
        }

        private bool TrySegment([NotNullWhen(true)] out Segment? segment, [NotNullWhen(false)] out string? problem)
        {
            segment = null;
            var c = _text[_at];
            if (c == '[')
            {
                if (!TryBracket(out var selectors, out problem))
                {
                    return false;
                }

                segment = new Segment(false, selectors);
                return true;
            }

            if (c != '.')
            {
                problem = Fail($"'{c}' cannot start a segment; write .name, ['name'], [index] or [*]");
                return false;
            }

            _at++;
            var descendant = _at < _text.Length && _text[_at] == '.';
            if (descendant)
            {
                _at++;
                if (_at < _text.Length && _text[_at] == '[')
                {
                    if (!TryBracket(out var selectors, out problem))
                    {
                        return false;
                    }

                    segment = new Segment(true, selectors);
                    return true;
                }
            }

            if (_at < _text.Length && _text[_at] == '*')
            {
                _at++;
                segment = new Segment(descendant, [new Selector(SelectorKind.Wildcard)]);
                problem = null;
                return true;
            }

            var start = _at;
            while (_at < _text.Length && IsNameChar(_text[_at], _at == start))
            {
                _at++;
            }

            if (_at == start)
            {
                problem = Fail("a member name, '*' or '[' must follow '.'");
                return false;
            }

            segment = new Segment(descendant, [new Selector(SelectorKind.Name, _text[start.._at])]);
            problem = null;
            return true;
        }

        private bool TryBracket([NotNullWhen(true)] out Selector[]? selectors, [NotNullWhen(false)] out string? problem)
        {
            selectors = null;
            _at++; // '['
            var list = new List<Selector>();
            while (true)
            {
                SkipBlank();
                if (!TrySelector(out var selector, out problem))
                {
                    return false;
                }

                list.Add(selector);
                SkipBlank();
                if (_at >= _text.Length)
                {
                    problem = Fail("a '[' is not closed");
                    return false;
                }

                if (_text[_at] == ']')
                {
                    _at++;
                    selectors = [.. list];
                    return true;
                }

                if (_text[_at] != ',')
                {
                    problem = Fail($"expected ',' or ']', found '{_text[_at]}'");
                    return false;
                }

                _at++;
            }
        }

        private bool TrySelector([NotNullWhen(true)] out Selector? selector, [NotNullWhen(false)] out string? problem)
        {
            selector = null;
            if (_at >= _text.Length)
            {
                problem = Fail("a '[' is not closed");
                return false;
            }

            var c = _text[_at];
            switch (c)
            {
                case '\'' or '"':
                    if (!TryString(c, out var name, out problem))
                    {
                        return false;
                    }

                    selector = new Selector(SelectorKind.Name, name);
                    return true;
                case '*':
                    _at++;
                    selector = new Selector(SelectorKind.Wildcard);
                    problem = null;
                    return true;
                case '?':
                    problem = Fail("filter selectors ([?...]) are not supported; select by names, indexes, slices and wildcards, and let the 'matches' regex test the values");
                    return false;
            }

            return TryIndexOrSlice(out selector, out problem);
        }

        private bool TryIndexOrSlice([NotNullWhen(true)] out Selector? selector, [NotNullWhen(false)] out string? problem)
        {
            selector = null;
            var hasStart = TryInteger(out var start, out problem);
            if (problem is not null)
            {
                return false;
            }

            SkipBlank();
            if (_at >= _text.Length || _text[_at] != ':')
            {
                if (!hasStart)
                {
                    problem = Fail(_at < _text.Length ? $"'{_text[_at]}' cannot start a selector; write 'name', an index, a slice or *" : "a '[' is not closed");
                    return false;
                }

                selector = new Selector(SelectorKind.Index, Start: start);
                return true;
            }

            _at++; // ':'
            SkipBlank();
            var hasEnd = TryInteger(out var end, out problem);
            if (problem is not null)
            {
                return false;
            }

            long step = 1;
            SkipBlank();
            if (_at < _text.Length && _text[_at] == ':')
            {
                _at++;
                SkipBlank();
                if (TryInteger(out var given, out problem))
                {
                    step = given;
                }
                else if (problem is not null)
                {
                    return false;
                }
            }

            selector = new Selector(SelectorKind.Slice, Start: start, End: end, Step: step, HasStart: hasStart, HasEnd: hasEnd);
            return true;
        }

        /// <summary>An optional integer; <paramref name="problem"/> is set only when one is malformed.</summary>
        private bool TryInteger(out long value, out string? problem)
        {
            value = 0;
            problem = null;
            var start = _at;
            if (_at < _text.Length && _text[_at] == '-')
            {
                _at++;
            }

            var digits = _at;
            while (_at < _text.Length && char.IsAsciiDigit(_text[_at]))
            {
                _at++;
            }

            if (_at == digits)
            {
                if (_at != start)
                {
                    problem = Fail("a '-' must be followed by digits");
                }

                return false;
            }

            var literal = _text[start.._at];
            if ((literal.Length > 1 && literal[digits - start] == '0') || literal == "-0")
            {
                problem = Fail($"the integer {literal} has a leading zero");
                return false;
            }

            if (!long.TryParse(literal, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value) || value > MaxInteger || value < -MaxInteger)
            {
                problem = Fail($"the integer {literal} is outside ±(2^53-1)");
                return false;
            }

            return true;
        }

        private bool TryString(char quote, [NotNullWhen(true)] out string? value, [NotNullWhen(false)] out string? problem)
        {
            value = null;
            _at++;
            var text = new StringBuilder();
            while (_at < _text.Length)
            {
                var c = _text[_at++];
                if (c == quote)
                {
                    value = text.ToString();
                    problem = null;
                    return true;
                }

                if (c != '\\')
                {
                    text.Append(c);
                    continue;
                }

                if (_at >= _text.Length)
                {
                    break;
                }

                var escaped = _text[_at++];
                switch (escaped)
                {
                    case 'b': text.Append('\b'); break;
                    case 'f': text.Append('\f'); break;
                    case 'n': text.Append('\n'); break;
                    case 'r': text.Append('\r'); break;
                    case 't': text.Append('\t'); break;
                    case '/' or '\\' or '\'' or '"': text.Append(escaped); break;
                    case 'u' when _at + 4 <= _text.Length && ushort.TryParse(_text.AsSpan(_at, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code):
                        text.Append((char)code);
                        _at += 4;
                        break;
                    default:
                        problem = Fail($"'\\{escaped}' is not an escape a JSONPath string knows");
                        return false;
                }
            }

            problem = Fail($"a string opened with {quote} is not closed");
            return false;
        }

        private void SkipBlank()
        {
            while (_at < _text.Length && _text[_at] is ' ' or '\t' or '\n' or '\r')
            {
                _at++;
            }
        }

        // RFC 9535 member-name-shorthand: ALPHA / "_" / non-ASCII first, then also DIGIT.
        private static bool IsNameChar(char c, bool first) =>
            char.IsAsciiLetter(c) || c == '_' || c >= 0x80 || (!first && char.IsAsciiDigit(c));

        private readonly string Fail(string what) => $"{what} (at {_at})";
    }
}
