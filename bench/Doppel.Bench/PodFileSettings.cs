namespace Doppel.Bench;

/// <summary>How much work the pod-file figures (13–18, <c>--p9</c>) do.</summary>
/// <param name="Rounds">Interleaved direct/doppel rounds of every figure.</param>
/// <param name="Files">Files created per run of figure 13.</param>
/// <param name="FileBytes">Bytes written to each of them, and the size of figure 17's pod file.</param>
/// <param name="Renames">Renames per run of figure 14.</param>
/// <param name="LockPairs">Lock + unlock pairs per run of figure 15.</param>
/// <param name="FcntlCalls">Untrapped fcntl calls (of each command) per run of figure 16.</param>
/// <param name="FcntlRounds">Interleaved rounds of figure 16 (short runs, so more of them: its differences are tenths of a µs).</param>
/// <param name="GetLkCalls">F_GETLK calls (trapped, answered by the pod) per run of figure 16.</param>
/// <param name="Closes">Timed open + read + close cycles per run of figure 17.</param>
/// <param name="Spawns">Timed fork + execve + waitpid spawns per run of figure 18.</param>
/// <param name="BigFileBytes">The size of figure 19's pod file.</param>
/// <param name="BigFileCycles">Timed open + write + close cycles per run of figure 19 (each kind).</param>
internal sealed record PodFileSettings(int Rounds, int Files, int FileBytes, int Renames, int LockPairs, int FcntlCalls, int FcntlRounds, int GetLkCalls, int Closes, int Spawns, int BigFileBytes, int BigFileCycles)
{
    public static PodFileSettings Full { get; } = new(Rounds: 3, Files: 1_000, FileBytes: 4_096, Renames: 1_000, LockPairs: 1_000, FcntlCalls: 1_000_000, FcntlRounds: 7, GetLkCalls: 1_000, Closes: 2_000, Spawns: 300, BigFileBytes: 64 << 20, BigFileCycles: 50);

    public static PodFileSettings Quick { get; } = new(Rounds: 1, Files: 1_000, FileBytes: 4_096, Renames: 200, LockPairs: 200, FcntlCalls: 200_000, FcntlRounds: 1, GetLkCalls: 200, Closes: 500, Spawns: 50, BigFileBytes: 16 << 20, BigFileCycles: 20);
}
