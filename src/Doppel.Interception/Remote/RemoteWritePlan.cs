namespace Doppel.Interception.Remote;

/// <summary>
/// What a write-back changes in a remote file the remote already has a known version of
/// (<see cref="IRemote.WriteChangesAsync"/>): the byte ranges of the local copy that differ from it,
/// written in place at their offsets, and the length the file is cut to afterwards.
/// </summary>
/// <param name="Ranges">Changed ranges of the local copy as (offset, length) in bytes, ascending and not overlapping; may be empty.</param>
/// <param name="FinalLength">The length in bytes to cut (or extend with a hole) the remote file to after the ranges; null: its length stays (or grows by the ranges).</param>
/// <param name="Append">
/// The only change is bytes added at the end by a program that opened the file with O_APPEND: the one
/// range goes at the remote file's end as it is then (O_APPEND), so what pod processes appended
/// meanwhile stays before it, as two O_APPEND writers' lines do on one file.
/// </param>
public sealed record RemoteWritePlan(IReadOnlyList<(long Offset, long Length)> Ranges, long? FinalLength, bool Append)
{
    /// <summary>The number of bytes the ranges carry.</summary>
    public long Bytes => Ranges.Sum(r => r.Length);
}
