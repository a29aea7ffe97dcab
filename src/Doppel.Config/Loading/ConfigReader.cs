namespace Doppel.Config.Loading;

/// <summary>
/// Turns configuration text (already rendered as a template) into one JSON tree and the source
/// positions of its key paths, whatever the format.
/// <code>
///   text --JSON (comments, trailing commas)--> JsonConfigReader --+
///   text --YAML (1.2 core schema)-----------> YamlConfigReader --+--> ConfigDocument(Root, Positions, File)
///   text --TOML-----------------------------> TomlConfigReader --+
/// </code>
/// Positions are 1-based lines and columns, columns counting Unicode characters (not bytes, and an
/// emoji is one column) in every format.
/// </summary>
internal static class ConfigReader
{
    public static ConfigDocument Read(string text, ConfigFormat format, string? file)
    {
        ArgumentNullException.ThrowIfNull(text);

        // A byte order mark is invisible in editors; leaving it would shift every column of line 1.
        if (text.Length > 0 && text[0] == '\uFEFF')
        {
            text = text[1..];
        }

        try
        {
            return format switch
            {
                ConfigFormat.Json => JsonConfigReader.Read(text, file),
                ConfigFormat.Yaml => YamlConfigReader.Read(text, file),
                ConfigFormat.Toml => TomlConfigReader.Read(text, file),
                _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown configuration format."),
            };
        }
        catch (ConfigException e)
        {
            // Everything a reader rejects is about the text itself: show the line with a caret.
            throw SourceExcerpts.Attach(e, text);
        }
    }
}
