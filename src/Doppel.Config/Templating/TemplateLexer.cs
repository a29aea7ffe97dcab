namespace Doppel.Config.Templating;

/// <summary>
/// Splits one <c>{{ ... }}</c> block into tokens, from just after the opening <c>{{</c> (or
/// <c>{{-</c>) up to and including the closing <c>}}</c> (or <c>-}}</c>).
/// </summary>
/// <remarks>
/// Strings may be delimited by <c>"</c>, <c>'</c> or <c>`</c> as in Tera, and also by the
/// backslash-escaped quotes <c>\"</c> and <c>\'</c>: templates usually sit inside JSON strings,
/// where users must write <c>get_env(name=\"USER\")</c> to keep the file valid JSON. Like Tera,
/// strings have no escape sequences: everything up to the matching delimiter is the content.
/// </remarks>
internal sealed class TemplateLexer(TemplateSource source, int blockOffset, int start)
{
    private readonly string _text = source.Text;
    private int _pos = start;

    /// <summary>After a successful <see cref="Lex"/>: the offset just past the closing <c>}}</c>.</summary>
    public int End { get; private set; }

    /// <summary>After a successful <see cref="Lex"/>: the block closed with <c>-}}</c>.</summary>
    public bool TrimAfter { get; private set; }

    /// <summary>After a failed <see cref="Lex"/>: the text ended before the block was closed.</summary>
    public bool Unclosed { get; private set; }

    /// <summary>
    /// After a failed <see cref="Lex"/> that did not leave the block <see cref="Unclosed"/>:
    /// where copying can resume so later blocks are still checked; -1 when nowhere.
    /// </summary>
    public int ResumeAt { get; private set; } = -1;

    public List<TemplateToken> Lex()
    {
        if (_text.IndexOf("}}", _pos, StringComparison.Ordinal) < 0)
        {
            // Nothing can close the block: that is the mistake to report, rather than whatever
            // odd token (often the closing quote of the surrounding JSON string) comes first.
            Unclosed = true;
            throw UnclosedBlock();
        }

        var tokens = new List<TemplateToken>();
        while (true)
        {
            SkipWhitespace();
            if (_pos >= _text.Length)
            {
                Unclosed = true;
                throw UnclosedBlock();
            }

            var c = _text[_pos];
            var at = _pos;
            if (c == '}' && Peek(1) == '}')
            {
                tokens.Add(new TemplateToken(TemplateTokenKind.End, "}}", at));
                End = _pos + 2;
                return tokens;
            }

            if (c == '-' && Peek(1) == '}' && Peek(2) == '}')
            {
                tokens.Add(new TemplateToken(TemplateTokenKind.End, "-}}", at));
                End = _pos + 3;
                TrimAfter = true;
                return tokens;
            }

            tokens.Add(c switch
            {
                '(' => Single(TemplateTokenKind.LeftParen),
                ')' => Single(TemplateTokenKind.RightParen),
                ',' => Single(TemplateTokenKind.Comma),
                '=' => Single(TemplateTokenKind.Equals),
                '|' => Single(TemplateTokenKind.Pipe),
                '~' => Single(TemplateTokenKind.Tilde),
                '"' or '\'' or '`' => String(c.ToString()),
                '\\' when Peek(1) is '"' or '\'' => String(_text.Substring(_pos, 2)),
                _ when IsIdentifierStart(c) => Identifier(),
                _ when char.IsAsciiDigit(c) => Number(),
                _ => throw Unexpected(at),
            });
        }
    }

    private char Peek(int ahead) => _pos + ahead < _text.Length ? _text[_pos + ahead] : '\0';

    private void SkipWhitespace()
    {
        while (_pos < _text.Length && char.IsWhiteSpace(_text[_pos]))
        {
            _pos++;
        }
    }

    private TemplateToken Single(TemplateTokenKind kind)
    {
        var token = new TemplateToken(kind, _text[_pos].ToString(), _pos);
        _pos++;
        return token;
    }

    private TemplateToken String(string delimiter)
    {
        var at = _pos;
        var contentStart = _pos + delimiter.Length;
        var close = _text.IndexOf(delimiter, contentStart, StringComparison.Ordinal);
        if (close < 0)
        {
            ResumeAfterNextClose(at);
            throw source.Fail(at, $"the string that starts here with {delimiter} is never closed; add the closing {delimiter}.");
        }

        _pos = close + delimiter.Length;
        return new TemplateToken(TemplateTokenKind.String, _text[contentStart..close], at);
    }

    private TemplateToken Identifier()
    {
        var at = _pos;
        while (_pos < _text.Length && (IsIdentifierStart(_text[_pos]) || char.IsAsciiDigit(_text[_pos])))
        {
            _pos++;
        }

        return new TemplateToken(TemplateTokenKind.Identifier, _text[at.._pos], at);
    }

    private TemplateToken Number()
    {
        var at = _pos;
        while (_pos < _text.Length && (char.IsAsciiDigit(_text[_pos]) || (_text[_pos] == '.' && char.IsAsciiDigit(Peek(1)))))
        {
            _pos++;
        }

        return new TemplateToken(TemplateTokenKind.Number, _text[at.._pos], at);
    }

    private ConfigException Unexpected(int at)
    {
        if (_text[at] == '{' && _text.AsSpan(at + 1).StartsWith("{"))
        {
            // Another block starts before this one closed: the "}}" was forgotten.
            ResumeAt = at;
            return source.Fail(
                blockOffset,
                $"the template block opened here with '{{{{' is not closed before the next one at line {source.PositionOf(at).Line}; add '}}}}' after the expression.");
        }

        ResumeAfterNextClose(at);
        return source.Fail(
            at,
            $"unexpected character '{_text[at]}' in the template expression; an expression is get_env(name=\"...\"), key, git_branch or a quoted string, optionally followed by filters such as | lower.");
    }

    private void ResumeAfterNextClose(int failedAt)
    {
        var close = _text.IndexOf("}}", failedAt + 1, StringComparison.Ordinal);
        ResumeAt = close < 0 ? -1 : close + 2;
    }

    private ConfigException UnclosedBlock() =>
        source.Fail(blockOffset, "the template block opened here with '{{' is never closed; add '}}' after the expression.");

    private static bool IsIdentifierStart(char c) => char.IsAsciiLetter(c) || c == '_';
}
