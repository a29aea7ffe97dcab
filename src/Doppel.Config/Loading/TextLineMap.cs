namespace Doppel.Config.Loading;

/// <summary>
/// Turns UTF-16 offsets in a string into 1-based line/column positions whose column counts
/// characters (Unicode scalar values: a surrogate pair is one column), matching <see cref="Utf8LineMap"/>.
/// </summary>
internal sealed class TextLineMap
{
    private readonly string _text;
    private readonly List<int> _lineStarts = [0];

    public TextLineMap(string text)
    {
        _text = text;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\n')
            {
                _lineStarts.Add(i + 1);
            }
        }
    }

    public SourcePosition PositionAt(long offset)
    {
        var at = (int)Math.Clamp(offset, 0, _text.Length);
        var line = _lineStarts.BinarySearch(at);
        if (line < 0)
        {
            line = ~line - 1;
        }

        var start = _lineStarts[line];
        var characters = 0;
        for (var i = start; i < at; i++)
        {
            if (!char.IsLowSurrogate(_text[i]))
            {
                characters++;
            }
        }

        return new SourcePosition(line + 1, characters + 1);
    }
}
