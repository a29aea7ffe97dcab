namespace Doppel.Kubernetes.Tests.Support;

/// <summary>The repository, the agent binary the image is built from, and the doppel binary.</summary>
internal static class RepoPaths
{
    /// <summary>The repository root: the directory holding doppel.slnx above the test output.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>The NativeAOT doppel-agent: DOPPEL_AGENT_BINARY, else artifacts/doppel-agent.</summary>
    public static string Agent
    {
        get
        {
            var path = Environment.GetEnvironmentVariable("DOPPEL_AGENT_BINARY") is { Length: > 0 } agent ? agent : Path.Combine(Root, "artifacts", "doppel-agent");
            return File.Exists(path) ? path : throw new FileNotFoundException($"The doppel-agent binary {path} does not exist; run scripts/build.sh first.", path);
        }
    }

    /// <summary>The NativeAOT doppel: DOPPEL_AOT_BINARY, else artifacts/doppel (scripts/build.sh).</summary>
    public static string Doppel
    {
        get
        {
            var path = Environment.GetEnvironmentVariable("DOPPEL_AOT_BINARY") is { Length: > 0 } doppel ? doppel : Path.Combine(Root, "artifacts", "doppel");
            return File.Exists(path) ? path : throw new FileNotFoundException($"The doppel binary {path} does not exist; run scripts/build.sh first.", path);
        }
    }

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
