namespace Doppel.Config.Tests.Support;

/// <summary>Loads configurations the way the CLI does, with an environment the test owns.</summary>
internal static class Load
{
    public static LoadedConfig File(
        string path,
        IReadOnlyDictionary<string, string>? env = null,
        IReadOnlyList<ConfigOverride>? flags = null,
        string? workingDirectory = null,
        bool targetChosenLater = false) =>
        ConfigLoader.Load(new ConfigLoadOptions
        {
            ConfigFile = path,
            Environment = Env(env),
            FlagOverrides = flags ?? [],
            WorkingDirectory = workingDirectory ?? System.IO.Path.GetDirectoryName(path)!,
            GitBranch = () => "main",
            TargetChosenLater = targetChosenLater,
        });

    public static LoadedConfig Text(
        string text,
        string name = "doppel.json",
        IReadOnlyDictionary<string, string>? env = null,
        IReadOnlyList<ConfigOverride>? flags = null,
        bool targetChosenLater = false)
    {
        using var dir = new TempConfigDirectory();
        return File(dir.Write(name, text), env, flags, targetChosenLater: targetChosenLater);
    }

    /// <summary>Loads <paramref name="text"/> expecting failure; returns the errors.</summary>
    public static IReadOnlyList<ConfigError> Errors(
        string text,
        string name = "doppel.json",
        IReadOnlyDictionary<string, string>? env = null,
        IReadOnlyList<ConfigOverride>? flags = null,
        bool targetChosenLater = false)
    {
        var e = Assert.Throws<ConfigException>(() => Text(text, name, env, flags, targetChosenLater));
        return e.Errors;
    }

    public static Func<string, string?> Env(IReadOnlyDictionary<string, string>? env) =>
        name => env is not null && env.TryGetValue(name, out var v) ? v : null;
}
