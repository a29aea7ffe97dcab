namespace Doppel.Linux.Files;

/// <summary>The fields of a <c>struct statx</c> doppel uses (times as seconds + nanoseconds).</summary>
public readonly record struct StatxInfo(
    uint Mode,
    uint Uid,
    uint Gid,
    ulong Size,
    ulong Nlink,
    ulong Inode,
    uint DevMajor,
    uint DevMinor,
    uint RdevMajor,
    uint RdevMinor,
    uint BlockSize,
    ulong Blocks,
    (long Seconds, uint Nanoseconds) Atime,
    (long Seconds, uint Nanoseconds) Mtime,
    (long Seconds, uint Nanoseconds) Ctime,
    (long Seconds, uint Nanoseconds) Btime);
