namespace Doppel.EndToEnd.Tests.Support;

/// <summary>The binaries under test: scripts/test.sh names them; a plain <c>dotnet test</c> finds them in artifacts/.</summary>
internal static class RepoPaths
{
    /// <summary>The repository root: the directory holding doppel.slnx above the test output.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>The NativeAOT doppel: DOPPEL_AOT_BINARY, else artifacts/doppel.</summary>
    public static string Doppel { get; } = Existing(
        Environment.GetEnvironmentVariable("DOPPEL_AOT_BINARY") is { Length: > 0 } aot ? aot : Path.Combine(Root, "artifacts", "doppel"),
        "doppel");

    /// <summary>tests/Doppel.GrpcEcho's program (run with <c>dotnet</c>), built in the tests' own configuration.</summary>
    public static string GrpcEcho => Existing(
        Path.Combine(Root, "tests", "Doppel.GrpcEcho", "bin", new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name, "net10.0", "Doppel.GrpcEcho.dll"),
        "Doppel.GrpcEcho");

    /// <summary>The NativeAOT doppel-agent: DOPPEL_AGENT_BINARY, else doppel-agent beside <see cref="Doppel"/>.</summary>
    public static string Agent { get; } = Existing(
        Environment.GetEnvironmentVariable("DOPPEL_AGENT_BINARY") is { Length: > 0 } agent ? agent : Path.Combine(Path.GetDirectoryName(Doppel)!, "doppel-agent"),
        "doppel-agent");

    private static string Existing(string path, string what)
        => File.Exists(path) ? path : throw new FileNotFoundException($"The {what} binary {path} does not exist; run scripts/build.sh first.", path);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "doppel.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No doppel.slnx above {AppContext.BaseDirectory}.");
    }
}
