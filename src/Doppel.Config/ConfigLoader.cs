using System.Text.Json;
using System.Text.Json.Nodes;
using Doppel.Config.Binding;
using Doppel.Config.Loading;
using Doppel.Config.Overrides;
using Doppel.Config.Templating;
using Doppel.Linux.Files;

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

    // What {{ key }} renders to while the file's own "key" is being read; never seen by the user.
    private const string KeyPlaceholder = "doppel-key-placeholder-5c0e2f";

    /// <exception cref="ConfigException">The configuration cannot be used; every problem found is listed.</exception>
    public static LoadedConfig Load(ConfigLoadOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var (file, fullPath) = FindFile(options);
        var givenKey = KeyFrom(options);
        var (document, templateKey) = file is null || fullPath is null
            ? (new ConfigDocument(new JsonObject(), SourceMap.Empty, null), null)
            : Parse(file, fullPath, givenKey, options);

        var context = new BindContext(document.Positions, file) { TargetChosenLater = options.TargetChosenLater, JsonPathCheck = options.JsonPathCheck };
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
            // The key the templates rendered with, if they used one: {{ key }} and the session must agree.
            config = config with { Key = templateKey ?? GenerateKey() };
        }

        return new LoadedConfig(config, file, context.Warnings);
    }

    /// <summary>
    /// Reads, renders and parses one file; <paramref name="file"/> is the name messages show.
    /// Returns the document and the key generated for <c>{{ key }}</c>, if one had to be.
    /// </summary>
    /// <remarks>
    /// <c>{{ key }}</c> is the session key: <c>-k</c>, <c>DOPPEL_KEY</c>/<c>MIRRORD_KEY</c>, else the
    /// file's own top-level <c>"key"</c>, else a generated one (mirrord's order, see its
    /// <c>LayerFileConfig::from_path</c>). The file's key is only known after rendering, so a
    /// file that uses <c>{{ key }}</c> without a key given from outside is rendered twice: first
    /// with a placeholder to read its <c>"key"</c> (itself possibly a template of
    /// <c>git_branch</c> or <c>get_env</c>), then with that key. mirrord instead parses the
    /// unrendered file for <c>"key"</c> and silently falls back to a generated key when the file
    /// is not valid before rendering; rendering first finds the key in those files too.
    /// </remarks>
    private static (ConfigDocument Document, string? GeneratedKey) Parse(string file, string fullPath, string? givenKey, ConfigLoadOptions options)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(fullPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException(new ConfigError($"the configuration file cannot be read: {e.Message}", file));
        }

        // UTF-8 only, as for mirrord: one sentence, not a garbage character in a syntax error.
        var text = Utf8Text.TryDecode(bytes, out var problem) ?? throw new ConfigException(new ConfigError($"the configuration file {problem}", file));

        var format = ConfigFormats.FromPath(file);
        var template = new TemplateContext(options.Environment, givenKey ?? KeyPlaceholder, options.GitBranch ?? (() => GitBranch.Detect(options.Environment, options.WorkingDirectory)));
        var rendered = Render(text, template, file);
        if (givenKey is not null || !template.KeyWasRead)
        {
            return (ConfigReader.Read(rendered, format, file), null);
        }

        var first = ConfigReader.Read(rendered, format, file);
        var fileKey = first.Root["key"] is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;
        if (fileKey is not null && fileKey.Contains(KeyPlaceholder, StringComparison.Ordinal))
        {
            throw new ConfigException(new ConfigError(
                "the key cannot be made from {{ key }} itself; write it literally, or from git_branch or get_env(...).", file, "key", first.Positions.Find("key")));
        }

        var generated = fileKey is null ? GenerateKey() : null;
        var keyed = new TemplateContext(options.Environment, fileKey ?? generated, () => template.GitBranch);
        return (ConfigReader.Read(Render(text, keyed, file), format, file), generated);
    }

    private static string Render(string text, TemplateContext template, string file)
    {
        try
        {
            return TemplateRenderer.Render(text, template, file);
        }
        catch (ConfigException e)
        {
            throw SourceExcerpts.Attach(e, text);
        }
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

        if (string.IsNullOrWhiteSpace(given))
        {
            throw new ConfigException(new ConfigError($"the configuration file{origin} is given as an empty path; give the path of a .json, .toml or .yaml file, or leave -f out.", null));
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

        // Reading a named pipe or a device would block or never end: only regular files are configuration.
        if (!IsRegularFile(path))
        {
            throw new ConfigException(new ConfigError($"the configuration file{origin} is not a regular file (a named pipe, socket or device); give the path of a .json, .toml or .yaml file.", given));
        }

        // Messages show the name as the user wrote it.
        return (given, path);
    }

    /// <summary>Whether <paramref name="path"/> (symbolic links followed) is a regular file, by statx(2) without opening it; true when statx fails, so the read reports why.</summary>
    private static bool IsRegularFile(string path) =>
        RootedFiles.Stat(path, followSymlinks: true, out var info) != 0 || info.IsRegularFile;

    private static string? KeyFrom(ConfigLoadOptions options)
    {
        var flag = options.FlagOverrides.LastOrDefault(o => o.KeyPath == "key")?.Value?.GetValue<string>();
        return flag ?? options.Environment("DOPPEL_KEY") ?? options.Environment("MIRRORD_KEY");
    }

    /// <summary>
    /// mirrord's generated key: five lower-case hex digits (its <c>EnvKey::autogenerated</c>), short
    /// enough for a Kubernetes label value. A name that keeps sessions apart, not a secret.
    /// </summary>
    private static string GenerateKey() => Random.Shared.Next(0x100000).ToString("x5", System.Globalization.CultureInfo.InvariantCulture);
}
