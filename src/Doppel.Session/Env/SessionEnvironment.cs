using System.Text;
using System.Text.RegularExpressions;
using Doppel.Config;
using Doppel.Protocol;

namespace Doppel.Session.Env;

/// <summary>
/// The environment the user's program gets: the local environment, with the target's variables
/// laid over it as <c>feature.env</c> says. In order:
/// <list type="number">
/// <item>the local environment;</item>
/// <item>the target's variables, without the never-imported ones (REFERENCE.md), kept by
/// <c>include</c> / dropped by <c>exclude</c> (<c>*</c> and <c>?</c> wildcards), their values
/// rewritten by <c>mapping</c> (regex on the value → replacement, capture groups allowed);</item>
/// <item>the variables of <c>env_file</c>;</item>
/// <item><c>override</c>;</item>
/// <item><c>unset</c> removes names (case-insensitive).</item>
/// </list>
/// </summary>
public static class SessionEnvironment
{
    /// <summary>
    /// Reads <c>env_file</c> (relative to <paramref name="workingDirectory"/>) as mirrord does
    /// (<see cref="DotEnvFile"/>), <c>${NAME}</c> taken from <paramref name="local"/>; empty when none
    /// is set. Called before the session starts, so a broken file stops doppel before any agent
    /// runs; throws <see cref="EnvFileException"/> naming the file and line.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>> ReadEnvFile(EnvConfig config, IReadOnlyDictionary<string, string> local, string workingDirectory)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(local);
        return config.EnvFile is { Length: > 0 } envFile
            ? DotEnvFile.Read(Path.GetFullPath(envFile, workingDirectory), name => local.GetValueOrDefault(name))
            : [];
    }

    /// <summary>Builds the program's environment.</summary>
    /// <param name="config"><c>feature.env</c>.</param>
    /// <param name="target">The target's variables (empty when targetless).</param>
    /// <param name="local">The environment doppel itself runs with.</param>
    /// <param name="envFile">The variables of <c>env_file</c>, from <see cref="ReadEnvFile"/>.</param>
    public static IReadOnlyDictionary<string, string> Build(
        EnvConfig config,
        IReadOnlyDictionary<string, string> target,
        IReadOnlyDictionary<string, string> local,
        IReadOnlyList<KeyValuePair<string, string>> envFile)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(envFile);
        var result = new Dictionary<string, string>(local, StringComparer.Ordinal);
        if (config.Enabled)
        {
            var include = config.Include is { } i ? Wildcards(i) : null;
            var exclude = config.Exclude is { } e ? Wildcards(e) : null;
            var mapping = config.Mapping.Select(m => (Pattern: new Regex(m.Key, RegexOptions.CultureInvariant), Replacement: m.Value)).ToArray();
            foreach (var (name, value) in target)
            {
                if (EnvironmentRules.IsNeverImported(name)
                    || (include is not null && !include.IsMatch(name))
                    || (exclude is not null && exclude.IsMatch(name)))
                {
                    continue;
                }

                result[name] = Map(value, mapping);
            }
        }

        foreach (var (name, value) in envFile)
        {
            result[name] = value;
        }

        foreach (var (name, value) in config.Override)
        {
            result[name] = value;
        }

        foreach (var name in config.Unset)
        {
            foreach (var key in result.Keys.Where(k => string.Equals(k, name, StringComparison.OrdinalIgnoreCase)).ToArray())
            {
                result.Remove(key);
            }
        }

        return result;
    }

    private static string Map(string value, (Regex Pattern, string Replacement)[] mapping)
    {
        foreach (var (pattern, replacement) in mapping)
        {
            if (pattern.IsMatch(value))
            {
                return pattern.Replace(value, replacement);
            }
        }

        return value;
    }

    /// <summary>One anchored regex for a list of <c>*</c>/<c>?</c> patterns.</summary>
    private static Regex Wildcards(IReadOnlyList<string> patterns)
    {
        var alternatives = patterns.Select(p =>
        {
            var builder = new StringBuilder();
            foreach (var c in p)
            {
                builder.Append(c switch
                {
                    '*' => ".*",
                    '?' => ".",
                    _ => Regex.Escape(c.ToString()),
                });
            }

            return builder.ToString();
        });
        return new Regex("^(?:" + string.Join('|', alternatives) + ")$", RegexOptions.CultureInvariant | RegexOptions.Singleline);
    }
}
