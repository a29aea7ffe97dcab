namespace Doppel.Config;

/// <summary>Adds the offending line to positioned errors, so syntax errors show where they are.</summary>
internal static class SourceExcerpts
{
    /// <summary>
    /// <paramref name="e"/>'s errors, each with a position given the text of its line in
    /// <paramref name="text"/> (the text whose lines the positions count).
    /// </summary>
    public static ConfigException Attach(ConfigException e, string text)
    {
        var lines = text.Split('\n');
        var errors = e.Errors
            .Select(error => error.Position is { } p && p.Line >= 1 && p.Line <= lines.Length && error.SourceLine is null
                ? error with { SourceLine = lines[p.Line - 1].TrimEnd('\r') }
                : error)
            .ToList();
        return new ConfigException(errors);
    }
}
