using System.Text;

namespace Doppel.Config;

/// <summary>
/// One problem found in a configuration: what is wrong (a full sentence that says what to do),
/// where it was written (file, key path such as <c>feature.network.incoming.http_filter</c>,
/// and the line/column when the format gives one).
/// </summary>
public sealed record ConfigError(string Message, string? File = null, string? KeyPath = null, SourcePosition? Position = null)
{
    /// <summary>
    /// The text of the line at <see cref="Position"/> (without its line break), for syntax errors:
    /// <see cref="ToString"/> then shows it with a caret under the column, as compilers do.
    /// </summary>
    public string? SourceLine { get; init; }

    /// <summary>
    /// <c>FILE:LINE:COL: KEY.PATH: message</c>, leaving out what is unknown; the form compilers use,
    /// so terminals and editors turn it into a link. With a <see cref="SourceLine"/>, two more lines:
    /// <code>
    /// mirrord.json:3:15: The file is not valid JSON: ...
    ///    3 |   "feature": {,
    ///      |               ^
    /// </code>
    /// </summary>
    public override string ToString()
    {
        var where = File ?? string.Empty;
        if (Position is { } p)
        {
            where = where.Length == 0 ? $"line {p.Line}:{p.Column}" : $"{where}:{p.Line}:{p.Column}";
        }

        var prefix = where.Length == 0 ? string.Empty : where + ": ";
        if (!string.IsNullOrEmpty(KeyPath))
        {
            prefix += KeyPath + ": ";
        }

        var text = prefix + Message;
        return SourceLine is { } line && Position is { } at ? text + Excerpt(line, at) : text;
    }

    /// <summary>Characters of the line shown either side of the column: a minified file may be one line of megabytes.</summary>
    private const int ExcerptAround = 60;

    private static string Excerpt(string line, SourcePosition at)
    {
        var number = at.Line.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var gutter = new string(' ', Math.Max(4, number.Length + 1));

        // Columns count Unicode characters (a surrogate pair is one): find the column's index in the line.
        var index = 0;
        for (var column = 1; index < line.Length && column < at.Column; column++)
        {
            index += char.IsHighSurrogate(line[index]) && index + 1 < line.Length ? 2 : 1;
        }

        // A long line is cut to the columns around the error, with … where it was cut; pairs stay whole.
        var start = Math.Max(0, index - ExcerptAround);
        if (start > 0 && char.IsLowSurrogate(line[start]))
        {
            start--;
        }

        var end = Math.Min(line.Length, index + ExcerptAround);
        if (end < line.Length && char.IsLowSurrogate(line[end]))
        {
            end++;
        }

        var shown = (start > 0 ? "…" : string.Empty) + line[start..end] + (end < line.Length ? "…" : string.Empty);
        var caret = new StringBuilder(start > 0 ? " " : string.Empty);

        // A tab stays a tab so the caret lines up in a terminal.
        foreach (var c in line.AsSpan(start, index - start))
        {
            if (!char.IsLowSurrogate(c))
            {
                caret.Append(c == '\t' ? '\t' : ' ');
            }
        }

        caret.Append('^');
        return $"{Environment.NewLine}{number.PadLeft(gutter.Length)} | {shown}{Environment.NewLine}{gutter} | {caret}";
    }
}
