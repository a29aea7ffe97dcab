namespace Doppel.Config.Templating;

/// <summary>The template text and its file, turning character offsets into the errors users read.</summary>
internal sealed class TemplateSource(string text, string? file)
{
    public string Text { get; } = text;

    public ConfigError Error(int offset, string message) => new(message, file, KeyPath: null, PositionOf(offset));

    public ConfigException Fail(int offset, string message) => new(Error(offset, message));

    /// <summary>1-based line and column; only computed for errors, so a linear scan is fine.</summary>
    public SourcePosition PositionOf(int offset)
    {
        var line = 1;
        var lineStart = 0;
        for (var i = 0; i < offset && i < Text.Length; i++)
        {
            if (Text[i] == '\n')
            {
                line++;
                lineStart = i + 1;
            }
        }

        return new SourcePosition(line, offset - lineStart + 1);
    }
}
