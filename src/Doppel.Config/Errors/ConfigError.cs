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

    private static string Excerpt(string line, SourcePosition at)
    {
        var number = at.Line.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var gutter = new string(' ', Math.Max(4, number.Length + 1));
        var caret = new StringBuilder();

        // Columns count Unicode characters; a tab stays a tab so the caret lines up in a terminal.
        var column = 1;
        for (var i = 0; i < line.Length && column < at.Column; i++)
        {
            if (char.IsLowSurrogate(line[i]))
            {
                continue;
            }

            caret.Append(line[i] == '\t' ? '\t' : ' ');
            column++;
        }

        caret.Append('^');
        return $"{Environment.NewLine}{number.PadLeft(gutter.Length)} | {line}{Environment.NewLine}{gutter} | {caret}";
    }
}
