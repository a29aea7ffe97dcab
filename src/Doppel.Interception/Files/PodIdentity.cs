using Doppel.Interception.Remote;

namespace Doppel.Interception.Files;

/// <summary>
/// The (st_dev, st_ino) every stat of a pod path answers, by path and by fd alike. Not the cache
/// copy's own: a copy is replaced (a new inode) whenever its content is fetched again, the first
/// time included (the placeholder a listing made gives way to the download), so the inode a stat
/// by path saw before an open would not be the one fstat of the opened fd sees, and GNU cp,
/// install and tar take that for a file replaced while they read it.
/// <list type="bullet">
/// <item>The device is 0:1048575, the last anonymous device number, which the kernel hands out
/// last (its ids grow from 1): no local file system has it, so no pod file is taken for a local
/// file (cp's "are the same file") and crossing from a local directory into a pod one is crossing
/// a mount, as it is.</item>
/// <item>The inode is a 63-bit FNV-1a hash of the path (a symlink's lstat gets another one): stable
/// for the session, the same after the content changes (as for an in-place write), and a new file
/// at the same path after a delete gets the same number (as inode reuse often does).</item>
/// </list>
/// </summary>
internal static class PodIdentity
{
    /// <summary>makedev(0, 0xfffff) in glibc's encoding: minor bits 0–7 and 20–31.</summary>
    public const ulong Device = 0xfff000ff;

    private const ulong FnvOffset = 14695981039346656037;
    private const ulong FnvPrime = 1099511628211;

    public static (ulong Device, ulong Inode) Of(string remotePath, RemoteEntryKind kind)
    {
        var hash = FnvOffset;
        foreach (var c in remotePath)
        {
            hash = (hash ^ c) * FnvPrime;
        }

        if (kind == RemoteEntryKind.Symlink)
        {
            hash = (hash ^ '\0') * FnvPrime; // the link itself is another file than what it names
        }

        hash &= long.MaxValue;
        return (Device, hash == 0 ? 1 : hash);
    }
}
