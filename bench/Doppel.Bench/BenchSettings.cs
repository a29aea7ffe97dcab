namespace Doppel.Bench;

/// <summary>How much work each figure does; <c>--quick</c> shrinks it to a smoke run.</summary>
/// <param name="Calls">Syscalls per run of figure 1.</param>
/// <param name="Repeats">Interleaved direct/doppel pairs of runs for figures 1 and 3.</param>
/// <param name="StartupRuns">Rounds of figure 2 (each runs every variant once).</param>
/// <param name="Files">Files opened, read and closed per run of figure 3.</param>
/// <param name="Cluster">The sizes of the mini-cluster figures (4–7, <c>--p3</c>).</param>
internal sealed record BenchSettings(int Calls, int Repeats, int StartupRuns, int Files, ClusterSettings Cluster)
{
    public static BenchSettings Full { get; } = new(Calls: 200_000, Repeats: 5, StartupRuns: 30, Files: 10_000, ClusterSettings.Full);

    public static BenchSettings Quick { get; } = new(Calls: 20_000, Repeats: 3, StartupRuns: 10, Files: 10_000, ClusterSettings.Quick);
}
