namespace Doppel.Bench;

/// <summary>Where the launchers and the workload's source are.</summary>
internal static class BenchPaths
{
    /// <summary>The JIT apphost that the Doppel.Cli reference puts beside the bench.</summary>
    public static Launcher JitLauncher { get; } = new("JIT", Path.Combine(AppContext.BaseDirectory, "doppel"));

    /// <summary>The C workload, copied beside the bench at build time.</summary>
    public static string WorkloadSource { get; } = Path.Combine(AppContext.BaseDirectory, "native", "syscalls.c");

    /// <summary>The mini-cluster figures' C server and client, copied beside the bench at build time.</summary>
    public static string NetworkWorkloadSource { get; } = Path.Combine(AppContext.BaseDirectory, "native", "p3net.c");

    /// <summary>The pod-file figures' (13–18) C client, copied beside the bench at build time.</summary>
    public static string FilesWorkloadSource { get; } = Path.Combine(AppContext.BaseDirectory, "native", "p9files.c");

    /// <summary>The NativeAOT <c>doppel</c> that <c>scripts/build.sh</c> publishes; null when it is absent.</summary>
    public static Launcher? FindAotLauncher()
    {
        var root = FindRepoRoot(AppContext.BaseDirectory) ?? FindRepoRoot(Environment.CurrentDirectory);
        var path = root is null ? null : Path.Combine(root, "artifacts", "doppel");
        return path is not null && File.Exists(path) ? new Launcher("AOT", path) : null;
    }

    private static string? FindRepoRoot(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "doppel.slnx")))
            {
                return dir.FullName;
            }
        }

        return null;
    }
}
