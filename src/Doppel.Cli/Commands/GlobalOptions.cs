using System.CommandLine;

namespace Doppel.Cli.Commands;

internal static class GlobalOptions
{
    public static readonly Option<bool> Verbose = new("--verbose", "-v")
    {
        Description = "Show debug logs and, on failure, the details (DOPPEL_LOG or RUST_LOG also set the level).",
        Recursive = true,
    };
}
