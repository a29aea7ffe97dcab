using System.Globalization;
using System.Text;

namespace Doppel.Linux.Text;

/// <summary>
/// Text from outside (a file name the program chose, a pod path) as a user-facing line may show it:
/// a name with a newline or an escape sequence in it must not forge a line of its own or drive the
/// terminal. Control characters become C-style escapes (<c>\n</c>, <c>\t</c>, <c>\r</c>,
/// <c>\x1b</c>; C1 controls and the line and paragraph separators as <c>\u0085</c>, <c>\u2028</c>),
/// and a backslash becomes <c>\\</c> so an escape cannot be forged either. Everything else is kept.
/// </summary>
public static class Printable
{
    /// <summary><paramref name="text"/> with its control characters escaped; the same string when it has none.</summary>
    public static string Escape(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!text.Any(NeedsEscape))
        {
            return text;
        }

        var escaped = new StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            _ = c switch
            {
                '\\' => escaped.Append(@"\\"),
                '\n' => escaped.Append(@"\n"),
                '\r' => escaped.Append(@"\r"),
                '\t' => escaped.Append(@"\t"),
                < '\x80' when char.IsControl(c) => escaped.Append(CultureInfo.InvariantCulture, $@"\x{(int)c:x2}"),
                _ when NeedsEscape(c) => escaped.Append(CultureInfo.InvariantCulture, $@"\u{(int)c:x4}"),
                _ => escaped.Append(c),
            };
        }

        return escaped.ToString();
    }

    private static bool NeedsEscape(char c) => c == '\\' || char.IsControl(c) || c is '\u2028' or '\u2029';
}
