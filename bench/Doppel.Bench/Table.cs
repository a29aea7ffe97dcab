using System.Text;

namespace Doppel.Bench;

/// <summary>A plain-text table: the first <paramref name="textColumns"/> columns left-aligned, the figures right-aligned.</summary>
internal sealed class Table(string title, int textColumns, params string[] headers)
{
    private readonly List<string[]> _rows = [];

    /// <summary>A line printed under the rows (what the figures include, a sanity count).</summary>
    public string? Footer { get; set; }

    public void Add(params string[] cells) => _rows.Add(cells);

    public override string ToString()
    {
        var all = _rows.Prepend(headers).ToList();
        var widths = Enumerable.Range(0, headers.Length).Select(c => all.Max(r => Cell(r, c).Length)).ToArray();
        var text = new StringBuilder().AppendLine(title);
        foreach (var row in all)
        {
            var cells = Enumerable.Range(0, headers.Length)
                .Select(c => c < textColumns ? Cell(row, c).PadRight(widths[c]) : Cell(row, c).PadLeft(widths[c]));
            text.Append("  ").AppendLine(string.Join("  ", cells).TrimEnd());
        }

        if (Footer is not null)
        {
            text.Append("  ").AppendLine(Footer);
        }

        return text.ToString();
    }

    private static string Cell(string[] row, int column) => column < row.Length ? row[column] : "";
}
