namespace Doppel.Protocol;

/// <summary>Rules for the target's environment that both ends apply.</summary>
public static class EnvironmentRules
{
    /// <summary>
    /// Variables never imported from the target, whatever <c>feature.env.include</c> says
    /// (REFERENCE.md): they describe the target's machine (paths, shell, user, runtimes), not the
    /// workload, and would break the program on the developer's machine. The agent leaves them
    /// out of GetEnvironment; the session filters again (an older agent may not).
    /// </summary>
    public static IReadOnlyList<string> NeverImported { get; } =
    [
        "HOME", "PATH", "PWD", "OLDPWD", "SHLVL", "USER", "SHELL", "TERM", "HOSTNAME", "JAVA_HOME", "CLASSPATH",
        "GOPATH", "GOROOT", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "NODE_PATH", "RUST_LOG", "JAVA_TOOL_OPTIONS",
        "LD_PRELOAD", "LD_LIBRARY_PATH", "DOTNET_ROOT", "TMPDIR",
    ];

    /// <summary>Whether <paramref name="name"/> is on <see cref="NeverImported"/>.</summary>
    public static bool IsNeverImported(string name) => s_neverImported.Contains(name);

    private static readonly HashSet<string> s_neverImported = new(NeverImported, StringComparer.Ordinal);
}
