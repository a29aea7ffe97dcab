using Doppel.Interception.Supervision;

namespace Doppel.Interception.Tests.Support;

internal sealed record RunResult(int ExitCode, string Stdout, string Stderr, InterceptionStatistics? Statistics)
{
    /// <summary>What the file sync told the user (failed write-backs), in order.</summary>
    public IReadOnlyList<string> Reports { get; init; } = [];

    public override string ToString() => $"exit {ExitCode}\nstdout: {Stdout}\nstderr: {Stderr}";
}
