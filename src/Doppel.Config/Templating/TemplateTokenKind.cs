namespace Doppel.Config.Templating;

internal enum TemplateTokenKind
{
    Identifier,
    String,
    Number,
    LeftParen,
    RightParen,
    Comma,
    Equals,
    Pipe,
    Tilde,

    /// <summary>The closing <c>}}</c> (or <c>-}}</c>) of the block.</summary>
    End,
}
