namespace Doppel.Config.Templating;

/// <summary>
/// One token of a <c>{{ ... }}</c> block. <see cref="Text"/> is the name of an identifier, the
/// content of a string (without quotes), or the characters of any other token;
/// <see cref="Offset"/> is where it starts in the whole template.
/// </summary>
internal readonly record struct TemplateToken(TemplateTokenKind Kind, string Text, int Offset)
{
    /// <summary>How an error message refers to this token.</summary>
    public string Describe() => Kind switch
    {
        TemplateTokenKind.End => "end of the block '}}'",
        TemplateTokenKind.String => $"string \"{Text}\"",
        TemplateTokenKind.Identifier => $"name '{Text}'",
        _ => $"'{Text}'",
    };
}
