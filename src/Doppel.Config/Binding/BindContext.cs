using Doppel.Config.Loading;

namespace Doppel.Config.Binding;

/// <summary>
/// Collects every error and warning of one binding pass, each with the key path the user wrote
/// and the place it came from: a file position, an environment variable, or a CLI flag.
/// </summary>
internal sealed class BindContext(SourceMap positions, string? file)
{
    private readonly List<ConfigError> _errors = [];
    private readonly List<ConfigError> _warnings = [];

    // expanded shorthand path → the path the user wrote ("feature.fs.mode" → "feature.fs")
    private readonly Dictionary<string, string> _aliases = new(StringComparer.Ordinal);

    // key path set from outside the file → where it came from ("--fs-mode", "environment variable MIRRORD_FILE_MODE")
    private readonly Dictionary<string, string> _origins = new(StringComparer.Ordinal);

    /// <summary>A missing target may still be chosen (verify-config --ide); see <see cref="ConfigLoadOptions.TargetChosenLater"/>.</summary>
    public bool TargetChosenLater { get; init; }

    /// <summary>See <see cref="ConfigLoadOptions.JsonPathCheck"/>.</summary>
    public Func<string, string?>? JsonPathCheck { get; init; }

    public IReadOnlyList<ConfigError> Errors => _errors;

    public IReadOnlyList<ConfigError> Warnings => _warnings;

    public void AddAlias(string expandedPath, string writtenPath) => _aliases[expandedPath] = writtenPath;

    public void SetOrigin(string keyPath, string origin)
    {
        _origins[keyPath] = origin;

        // Anything written in the file below a path that an override replaced is gone.
        var prefix = keyPath + ".";
        foreach (var p in _origins.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).ToList())
        {
            _origins.Remove(p);
        }
    }

    public void Error(string keyPath, string message) => _errors.Add(Make(keyPath, message));

    public void Warn(string keyPath, string message) => _warnings.Add(Make(keyPath, message));

    private ConfigError Make(string keyPath, string message)
    {
        var shown = _aliases.TryGetValue(keyPath, out var written) ? written : keyPath;
        if (OriginOf(keyPath) is { } origin)
        {
            return new ConfigError(message, origin, shown);
        }

        return new ConfigError(message, file, shown, positions.Find(shown));
    }

    private string? OriginOf(string keyPath)
    {
        var path = keyPath;
        while (true)
        {
            if (_origins.TryGetValue(path, out var origin))
            {
                return origin;
            }

            var cut = Math.Max(path.LastIndexOf('.'), path.LastIndexOf('['));
            if (cut <= 0)
            {
                return null;
            }

            path = path[..cut];
        }
    }
}
