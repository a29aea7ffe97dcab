namespace Doppel.Config.Loading;

/// <summary>
/// Turns offsets in a config file's text into 1-based line/column positions for error carets.
/// The column counts characters (Unicode scalar values), so a key after "é" or an emoji is where
/// the editor shows it, whether the offsets count UTF-8 bytes (<see cref="ForUtf8"/>, what the JSON
/// reader reports) or UTF-16 code units (<see cref="ForText"/>, what the YAML reader reports).
/// Lines end at '\n' (a preceding '\r' only ends up at the end of the previous line).
/// </summary>
internal sealed class LineMap
{
    private readonly int _length;
    private readonly Func<int, bool> _startsCharacter;
    private readonly List<int> _lineStarts = [0];

    private LineMap(int length, Func<int, bool> isNewline, Func<int, bool> startsCharacter)
    {
        _length = length;
        _startsCharacter = startsCharacter;
        for (var i = 0; i < length; i++)
        {
            if (isNewline(i))
            {
                _lineStarts.Add(i + 1);
            }
        }
    }

    /// <summary>A map over UTF-8 bytes: offsets are byte offsets; continuation bytes (10xxxxxx) add no column.</summary>
    public static LineMap ForUtf8(byte[] utf8) =>
        new(utf8.Length, i => utf8[i] == (byte)'\n', i => (utf8[i] & 0xC0) != 0x80);

    /// <summary>A map over a string: offsets are UTF-16 offsets; a surrogate pair is one column.</summary>
    public static LineMap ForText(string text) =>
        new(text.Length, i => text[i] == '\n', i => !char.IsLowSurrogate(text[i]));

    /// <summary>The position of a 0-based offset (clamped to the text).</summary>
    public SourcePosition PositionAt(long offset)
    {
        var at = (int)Math.Clamp(offset, 0, _length);
        var line = _lineStarts.BinarySearch(at);
        if (line < 0)
        {
            line = ~line - 1;
        }

        return new SourcePosition(line + 1, Column(_lineStarts[line], at));
    }

    /// <summary>The position of a 0-based line and a 0-based offset in it (what <c>JsonException</c> reports).</summary>
    public SourcePosition PositionAt(long zeroBasedLine, long offsetInLine)
    {
        var line = (int)Math.Clamp(zeroBasedLine, 0, _lineStarts.Count - 1);
        var start = _lineStarts[line];
        var end = line + 1 < _lineStarts.Count ? _lineStarts[line + 1] : _length;
        var at = (int)Math.Clamp(start + offsetInLine, start, end);
        return new SourcePosition(line + 1, Column(start, at));
    }

    private int Column(int lineStart, int offset)
    {
        var characters = 0;
        for (var i = lineStart; i < offset; i++)
        {
            if (_startsCharacter(i))
            {
                characters++;
            }
        }

        return characters + 1;
    }
}
