namespace Doppel.Interception.Files;

/// <summary>Lexical path handling: what the policy and the cache tree key on.</summary>
public static class RemotePath
{
    /// <summary>Collapses "//", "." and ".." of an absolute path ("/.." stays "/").</summary>
    public static string Normalize(string absolute)
    {
        if (!absolute.Contains("/.", StringComparison.Ordinal) && !absolute.Contains("//", StringComparison.Ordinal)
            && (absolute.Length == 1 || absolute[^1] != '/'))
        {
            return absolute;
        }

        var parts = new List<string>();
        foreach (var part in absolute.Split('/'))
        {
            if (part.Length == 0 || part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                if (parts.Count > 0)
                {
                    parts.RemoveAt(parts.Count - 1);
                }

                continue;
            }

            parts.Add(part);
        }

        return "/" + string.Join('/', parts);
    }

    /// <summary>An absolute <paramref name="directory"/> joined with a <paramref name="relative"/> path, normalized.</summary>
    public static string Combine(string directory, string relative)
        => Normalize(directory.EndsWith('/') ? directory + relative : directory + "/" + relative);

    /// <summary>The directory that holds a normalized absolute path ("/" for "/" and "/x").</summary>
    public static string Parent(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash <= 0 ? "/" : path[..slash];
    }
}
