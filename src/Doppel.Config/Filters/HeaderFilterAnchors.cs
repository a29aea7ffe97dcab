using System.Text.RegularExpressions;

namespace Doppel.Config.Filters;

/// <summary>
/// Whether an HTTP header filter is anchored at both ends. Header filters are searched in each
/// header as <c>Name: value</c>, so <c>X-Dev-User: al</c> also takes alice's requests
/// (<c>X-Dev-User: alice</c>); <c>^X-Dev-User: al$</c> takes only al's.
/// </summary>
internal static partial class HeaderFilterAnchors
{
    /// <summary>
    /// The anchored form of <paramref name="pattern"/> (<c>^…$</c>, an alternation grouped), or
    /// null when it is anchored already. An end of <c>.*</c> or <c>.+</c> counts as anchored: it takes any
    /// value on purpose.
    /// </summary>
    public static string? Suggestion(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        var body = LeadingOptions().Match(pattern) is { Success: true } options ? pattern[options.Length..] : pattern;
        var start = body.StartsWith('^') || body.StartsWith(@"\A", StringComparison.Ordinal);
        var end = EndsWithAnchor(pattern) || pattern.EndsWith(".*", StringComparison.Ordinal) || pattern.EndsWith(".+", StringComparison.Ordinal);
        if (start && end)
        {
            return null;
        }

        // '^a|b$' would anchor each alternative at one end only: an alternation is grouped whole.
        return pattern.Contains('|', StringComparison.Ordinal)
            ? $"^(?:{pattern})$"
            : (start ? string.Empty : "^") + pattern + (end ? string.Empty : "$");
    }

    /// <summary>A last <c>$</c>, <c>\z</c> or <c>\Z</c> that is not itself escaped (<c>\$</c> is a dollar sign).</summary>
    private static bool EndsWithAnchor(string pattern)
    {
        int anchorStart;
        if (pattern.EndsWith('$'))
        {
            anchorStart = pattern.Length - 1;
        }
        else if (pattern.EndsWith(@"\z", StringComparison.Ordinal) || pattern.EndsWith(@"\Z", StringComparison.Ordinal))
        {
            anchorStart = pattern.Length - 2;
        }
        else
        {
            return false;
        }

        var backslashes = 0;
        for (var i = anchorStart - 1; i >= 0 && pattern[i] == '\\'; i--)
        {
            backslashes++;
        }

        return backslashes % 2 == 0;
    }

    /// <summary>Inline options such as <c>(?i)</c> before the pattern proper.</summary>
    [GeneratedRegex(@"^(\(\?[imnsx-]+\))+")]
    private static partial Regex LeadingOptions();
}
