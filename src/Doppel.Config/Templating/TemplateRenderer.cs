using System.Text;

namespace Doppel.Config.Templating;

/// <summary>
/// Renders a configuration file as mirrord does before parsing it: as a Tera template. doppel
/// implements the part of Tera that configurations use:
/// <code>
///   text {{ expression }} text {# comment #} text
///        │                     └─ removed
///        └─ get_env(name="X", default="y") | key | git_branch | "literal"
///           followed by any of | lower | upper | trim | replace(from=, to=) | default(value=)
/// </code>
/// with Tera's whitespace control (<c>{{-</c>, <c>-}}</c>, <c>{#-</c>, <c>-#}</c>). Tera
/// statements (<c>{% ... %}</c>) are reported as unsupported rather than copied silently.
/// </summary>
/// <remarks>
/// Text outside blocks is copied verbatim, so as long as a block or comment sits on one line
/// (and no whitespace control eats a newline) every later line keeps its number and parse
/// errors point at the line the user wrote. A block or comment spanning lines shifts the lines
/// after it, as it does in mirrord.
///
/// Rendered values are inserted verbatim, without escaping for the surrounding format: a value
/// containing <c>"</c> or <c>\</c> inside a JSON string makes the JSON invalid, exactly as in
/// mirrord, and the JSON parser then reports it. Escaping would make doppel read such files
/// differently from mirrord.
/// </remarks>
internal static class TemplateRenderer
{
    /// <summary>
    /// The rendered text; <paramref name="text"/> itself when it contains no template syntax.
    /// Throws <see cref="ConfigException"/> carrying one error per broken block, each with
    /// <paramref name="file"/> and the line and column of the offending token.
    /// </summary>
    public static string Render(string text, TemplateContext context, string? file)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(context);

        if (FindTag(text, 0) < 0)
        {
            return text;
        }

        var source = new TemplateSource(text, file);
        var output = new StringBuilder(text.Length);
        var errors = new List<ConfigError>();
        var pos = 0;
        var trimAfterPrevious = false;
        var statementReported = false;
        while (true)
        {
            var tag = FindTag(text, pos);
            var literal = text.AsSpan(pos, (tag < 0 ? text.Length : tag) - pos);
            if (trimAfterPrevious)
            {
                literal = literal.TrimStart();
            }

            if (tag < 0)
            {
                output.Append(literal);
                break;
            }

            var trimBefore = tag + 2 < text.Length && text[tag + 2] == '-';
            if (trimBefore)
            {
                literal = literal.TrimEnd();
            }

            output.Append(literal);
            var bodyStart = tag + (trimBefore ? 3 : 2);
            var next = text[tag + 1] switch
            {
                '{' => RenderExpression(source, context, tag, bodyStart, output, errors, out trimAfterPrevious),
                '#' => SkipComment(source, tag, bodyStart, errors, out trimAfterPrevious),
                _ => RejectStatement(source, tag, bodyStart, errors, ref statementReported, out trimAfterPrevious),
            };

            if (next < 0)
            {
                break; // an unclosed tag: nothing after it can be read reliably
            }

            pos = next;
        }

        if (errors.Count > 0)
        {
            throw new ConfigException(errors);
        }

        return output.ToString();
    }

    /// <summary>Where the next <c>{{</c>, <c>{#</c> or <c>{%</c> starts at or after <paramref name="from"/>; -1 if none.</summary>
    private static int FindTag(string text, int from)
    {
        for (var i = text.IndexOf('{', from); i >= 0 && i + 1 < text.Length; i = text.IndexOf('{', i + 1))
        {
            if (text[i + 1] is '{' or '#' or '%')
            {
                return i;
            }
        }

        return -1;
    }

    /// <returns>The offset to continue copying from, or -1 to stop.</returns>
    private static int RenderExpression(
        TemplateSource source, TemplateContext context, int tag, int bodyStart, StringBuilder output, List<ConfigError> errors, out bool trimAfter)
    {
        trimAfter = false;
        var lexer = new TemplateLexer(source, tag, bodyStart);
        List<TemplateToken> tokens;
        try
        {
            tokens = lexer.Lex();
        }
        catch (ConfigException e)
        {
            errors.AddRange(e.Errors);
            return lexer.Unclosed ? -1 : lexer.ResumeAt;
        }

        try
        {
            output.Append(TemplateEvaluator.Evaluate(source, context, tokens));
        }
        catch (ConfigException e)
        {
            errors.AddRange(e.Errors);
        }

        trimAfter = lexer.TrimAfter;
        return lexer.End;
    }

    private static int SkipComment(TemplateSource source, int tag, int bodyStart, List<ConfigError> errors, out bool trimAfter)
    {
        trimAfter = false;
        var close = source.Text.IndexOf("#}", bodyStart, StringComparison.Ordinal);
        if (close < 0)
        {
            errors.Add(source.Error(tag, "the template comment opened here with '{#' is never closed; add '#}' after it."));
            return -1;
        }

        trimAfter = close > bodyStart && source.Text[close - 1] == '-';
        return close + 2;
    }

    private static int RejectStatement(TemplateSource source, int tag, int bodyStart, List<ConfigError> errors, ref bool reported, out bool trimAfter)
    {
        trimAfter = false;
        if (!reported)
        {
            // Once is enough: an {% if %} comes with an {% endif %}, and both say the same thing.
            reported = true;
            errors.Add(source.Error(
                tag,
                "the template uses a Tera statement ('{%'), which doppel does not support; use only {{ ... }} expressions (for a literal '{%', write {{ \"{%\" }})."));
        }

        var close = source.Text.IndexOf("%}", bodyStart, StringComparison.Ordinal);
        return close < 0 ? -1 : close + 2;
    }
}
