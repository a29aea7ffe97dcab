namespace Doppel.Config;

/// <summary>
/// One problem found in a configuration: what is wrong (a full sentence that says what to do),
/// where it was written (file, key path such as <c>feature.network.incoming.http_filter</c>,
/// and the line/column when the format gives one).
/// </summary>
public sealed record ConfigError(string Message, string? File = null, string? KeyPath = null, SourcePosition? Position = null)
{
    /// <summary>
    /// <c>FILE:LINE:COL: KEY.PATH: message</c>, leaving out what is unknown; the form compilers use,
    /// so terminals and editors turn it into a link.
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

        return prefix + Message;
    }
}
