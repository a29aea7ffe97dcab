namespace Doppel.Config.Loading;

/// <summary>Which reader a configuration file needs, decided by its extension as mirrord does.</summary>
internal static class ConfigFormats
{
    /// <summary>
    /// <c>.json</c>, <c>.jsonc</c> and no extension are JSON, <c>.yaml</c>/<c>.yml</c> YAML,
    /// <c>.toml</c> TOML (case-insensitive). Anything else is a <see cref="ConfigException"/>.
    /// </summary>
    public static ConfigFormat FromPath(string? path)
    {
        if (string.IsNullOrEmpty(path))
        {
            return ConfigFormat.Json;
        }

        var name = Path.GetFileName(path);

        // A dotfile such as ".mirrord" has a name, not an extension.
        var dot = name.LastIndexOf('.');
        if (dot <= 0 || dot == name.Length - 1)
        {
            return ConfigFormat.Json;
        }

        var extension = name[(dot + 1)..].ToLowerInvariant();
        return extension switch
        {
            "json" or "jsonc" => ConfigFormat.Json,
            "yaml" or "yml" => ConfigFormat.Yaml,
            "toml" => ConfigFormat.Toml,
            _ => throw new ConfigException(new ConfigError(
                $"The configuration file has the extension \".{name[(dot + 1)..]}\", which doppel cannot read. " +
                "Use .json (or .jsonc, or no extension) for JSON, .yaml or .yml for YAML, or .toml for TOML.",
                path)),
        };
    }
}
