namespace Doppel.Cli.Tests.Support;

internal static class RepoPaths
{
    /// <summary>The repository root: the directory holding doppel.slnx above the test output.</summary>
    public static string Root { get; } = FindRoot();

    public static string Examples => Path.Combine(AppContext.BaseDirectory, "Examples");

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
