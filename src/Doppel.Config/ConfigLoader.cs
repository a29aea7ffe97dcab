using System.Text.Json.Nodes;
using Doppel.Config.Binding;
using Doppel.Config.Loading;
using Doppel.Config.Overrides;
using Doppel.Config.Templating;

namespace Doppel.Config;

/// <summary>
/// Loads the configuration in the order mirrord users expect:
/// <code>
///  file text ──render template──► text ──parse (json/yaml/toml)──► tree + positions
///     ──expand shorthands──► object form ──environment, then flags──► ──bind + validate──► DoppelConfig
/// </code>
/// Built-in defaults live in the records, so "defaults &lt; file &lt; environment &lt; flags" holds.
/// </summary>
public static class ConfigLoader
{
    /// <summary>mirrord's default file, relative to the working directory.</summary>
    public const string DefaultFile = ".mirrord/mirrord.json";

    /// <exception cref="ConfigException">The configuration cannot be used; every problem found is listed.</exception>
    public static LoadedConfig Load(ConfigLoadOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var (file, fullPath) = FindFile(options);
        var document = file is null || fullPath is null
            ? new ConfigDocument(new JsonObject(), SourceMap.Empty, null)
            : Parse(file, fullPath, options);

        var context = new BindContext(document.Positions, file);
        Shorthands.Expand(document.Root, context);
        foreach (var change in EnvironmentOverride.FromEnvironment(options.Environment).Concat(options.FlagOverrides))
        {
            OverrideApplier.Apply(document.Root, change, context);
        }

        var config = ConfigBinder.Bind(document.Root, context);
        if (context.Errors.Count > 0)
        {
            throw new ConfigException(context.Errors);
        }

        if (config.Key is null)
        {
            config = config with { Key = KeyFrom(options) ?? GenerateKey() };
        }

        return new LoadedConfig(config, file, context.Warnings);
    }

    /// <summary>Reads, renders and parses one file; <paramref name="file"/> is the name messages show.</summary>
    private static ConfigDocument Parse(string file, string fullPath, ConfigLoadOptions options)
    {
        string text;
        try
        {
            text = File.ReadAllText(fullPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException(new ConfigError($"the configuration file cannot be read: {e.Message}", file));
        }

        var format = ConfigFormats.FromPath(file);
        var template = new TemplateContext(options.Environment, KeyFrom(options), options.GitBranch ?? (() => GitBranch.Detect(options.Environment, options.WorkingDirectory)));
        var rendered = TemplateRenderer.Render(text, template, file);
        return ConfigReader.Read(rendered, format, file);
    }

    private static (string? Shown, string? FullPath) FindFile(ConfigLoadOptions options)
    {
        var (given, origin) = options.ConfigFile is { } flag ? (flag, "")
            : options.Environment("DOPPEL_CONFIG_FILE") is { Length: > 0 } doppel ? (doppel, " named by DOPPEL_CONFIG_FILE")
            : options.Environment("MIRRORD_CONFIG_FILE") is { Length: > 0 } mirrord ? (mirrord, " named by MIRRORD_CONFIG_FILE")
            : (null, null);

        if (given is null)
        {
            var fallback = Path.Combine(options.WorkingDirectory, DefaultFile);
            return File.Exists(fallback) ? (DefaultFile, fallback) : (null, null);
        }

        var path = Path.IsPathRooted(given) ? given : Path.GetFullPath(Path.Combine(options.WorkingDirectory, given));
        if (Directory.Exists(path))
        {
            throw new ConfigException(new ConfigError($"the configuration file{origin} is a directory; give the path of a .json, .toml or .yaml file.", given));
        }

        if (!File.Exists(path))
        {
            throw new ConfigException(new ConfigError($"the configuration file{origin} does not exist; check the path.", given));
        }

        // Messages show the name as the user wrote it.
        return (given, path);
    }

    private static string? KeyFrom(ConfigLoadOptions options)
    {
        var flag = options.FlagOverrides.LastOrDefault(o => o.KeyPath == "key")?.Value?.GetValue<string>();
        return flag ?? options.Environment("DOPPEL_KEY") ?? options.Environment("MIRRORD_KEY");
    }

    // A name that keeps sessions apart, not a secret: no need to load OpenSSL at start-up for it.
    private static string GenerateKey() => $"doppel-{Random.Shared.Next():x8}";
}
