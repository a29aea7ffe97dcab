namespace Doppel.Config.Loading;

/// <summary>
/// Turns byte offsets in UTF-8 text into 1-based line/column positions whose column counts
/// characters (Unicode scalar values), so a key after "é" or an emoji is where the editor shows it.
/// Lines end at '\n' (a preceding '\r' only ends up at the end of the previous line).
/// </summary>
internal sealed class Utf8LineMap
{
    private readonly byte[] _utf8;
    private readonly List<int> _lineStarts = [0];

    public Utf8LineMap(byte[] utf8)
    {
        _utf8 = utf8;
        for (var i = 0; i < utf8.Length; i++)
        {
            if (utf8[i] == (byte)'\n')
            {
                _lineStarts.Add(i + 1);
            }
        }
    }

    public SourcePosition PositionAt(long byteOffset)
    {
        var offset = (int)Math.Clamp(byteOffset, 0, _utf8.Length);
        var line = _lineStarts.BinarySearch(offset);
        if (line < 0)
        {
            line = ~line - 1;
        }

        return new SourcePosition(line + 1, Column(_lineStarts[line], offset));
    }

    /// <summary>The position of a 0-based line and a 0-based byte position in it (what <c>JsonException</c> reports).</summary>
    public SourcePosition PositionAt(long zeroBasedLine, long bytePositionInLine)
    {
        var line = (int)Math.Clamp(zeroBasedLine, 0, _lineStarts.Count - 1);
        var start = _lineStarts[line];
        var end = line + 1 < _lineStarts.Count ? _lineStarts[line + 1] : _utf8.Length;
        var offset = (int)Math.Clamp(start + bytePositionInLine, start, end);
        return new SourcePosition(line + 1, Column(start, offset));
    }

    private int Column(int lineStart, int offset)
    {
        var characters = 0;
        for (var i = lineStart; i < offset; i++)
        {
            // Continuation bytes (10xxxxxx) belong to the character already counted.
            if ((_utf8[i] & 0xC0) != 0x80)
            {
                characters++;
            }
        }

        return characters + 1;
    }
}
