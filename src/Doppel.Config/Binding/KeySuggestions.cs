namespace Doppel.Config.Binding;

/// <summary>"Did you mean" for unknown keys: the nearest known key by edit distance, if near enough.</summary>
public static class KeySuggestions
{
    /// <summary>
    /// The error for an unknown key <paramref name="name"/> in the object at <paramref name="path"/>
    /// whose keys are <paramref name="known"/>. Unknown keys are errors, as in mirrord (its file
    /// structs deny unknown fields): a typo must not run with the defaults.
    /// </summary>
    public static string UnknownKey(string name, string path, IEnumerable<string> known)
    {
        var keys = known.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var where = path.Length == 0 ? "at the top level" : $"in {path}";
        return Nearest(name, keys) is { } nearest
            ? $"unknown key '{name}' {where}; did you mean '{nearest}'?"
            : $"unknown key '{name}' {where}; the keys there are {string.Join(", ", keys)}.";
    }

    /// <summary>
    /// The entry of <paramref name="known"/> nearest to <paramref name="unknown"/> (edit distance, '-' read
    /// as '_'), or null when none is within a third of its length (at least 2 edits).
    /// </summary>
    public static string? Nearest(string unknown, IEnumerable<string> known)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        var lowered = unknown.ToLowerInvariant().Replace('-', '_');
        foreach (var candidate in known)
        {
            var d = Distance(lowered, candidate);
            if (d < bestDistance)
            {
                (best, bestDistance) = (candidate, d);
            }
        }

        var allowed = Math.Max(2, unknown.Length / 3);
        return bestDistance <= allowed ? best : null;
    }

    // Optimal string alignment distance: Levenshtein plus adjacent transpositions ("tagret").
    internal static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }
}
