namespace Doppel.Linux.Files;

/// <summary>
/// The fields of a <c>struct statx</c> doppel uses (times as seconds + nanoseconds). <c>MountId</c>
/// is stx_mnt_id (STATX_MNT_ID, Linux 5.8): two entries on the same mount have the same one, so a
/// file whose id differs from its directory's is a mount point itself (a bind-mounted single file).
/// </summary>
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
    (long Seconds, uint Nanoseconds) Btime,
    ulong MountId = 0)
{
    /// <summary>S_IFMT: the file type bits of <see cref="Mode"/>.</summary>
    public const uint TypeMask = 0xF000;

    /// <summary>A regular file (S_IFREG).</summary>
    public bool IsRegularFile => (Mode & TypeMask) == 0x8000;

    /// <summary>A symbolic link (S_IFLNK).</summary>
    public bool IsSymlink => (Mode & TypeMask) == 0xA000;
}
