using System.Globalization;
using System.Text;

namespace Doppel.Session.Env;

/// <summary>
/// Reads a .env file: <c>NAME=value</c> lines, <c>#</c> comments and blank lines skipped, an
/// optional <c>export </c> prefix, values in single quotes taken literally, in double quotes with
/// <c>\n</c>, <c>\t</c>, <c>\"</c> and <c>\\</c> escapes, unquoted ones trimmed and cut at " #".
/// </summary>
public static class DotEnvFile
{
    public static IReadOnlyList<KeyValuePair<string, string>> Read(string path)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EnvFileException($"cannot read the env file {path}: {e.Message}", e);
        }

        return Parse(lines, path);
    }

    public static IReadOnlyList<KeyValuePair<string, string>> Parse(IReadOnlyList<string> lines, string source)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var result = new List<KeyValuePair<string, string>>();
        for (var i = 0; i < lines.Count; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            if (line.StartsWith("export ", StringComparison.Ordinal))
            {
                line = line["export ".Length..].TrimStart();
            }

            var equals = line.IndexOf('=', StringComparison.Ordinal);
            var name = equals > 0 ? line[..equals].Trim() : string.Empty;
            if (name.Length == 0 || name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c == '_' || c == '.')) || char.IsAsciiDigit(name[0]))
            {
                throw new EnvFileException(string.Format(CultureInfo.InvariantCulture, "{0}:{1}: expected NAME=value, found '{2}'.", source, i + 1, lines[i].Trim()));
            }

            result.Add(new(name, Value(line[(equals + 1)..].Trim())));
        }

        return result;
    }

    private static string Value(string raw)
    {
        if (raw.Length >= 2 && raw[0] == '\'' && raw[^1] == '\'')
        {
            return raw[1..^1];
        }

        if (raw.Length >= 2 && raw[0] == '"' && raw[^1] == '"')
        {
            var builder = new StringBuilder();
            var inner = raw[1..^1];
            for (var i = 0; i < inner.Length; i++)
            {
                if (inner[i] == '\\' && i + 1 < inner.Length)
                {
                    i++;
                    builder.Append(inner[i] switch { 'n' => '\n', 't' => '\t', 'r' => '\r', var c => c });
                }
                else
                {
                    builder.Append(inner[i]);
                }
            }

            return builder.ToString();
        }

        var comment = raw.IndexOf(" #", StringComparison.Ordinal);
        return (comment >= 0 ? raw[..comment] : raw).Trim();
    }
}
