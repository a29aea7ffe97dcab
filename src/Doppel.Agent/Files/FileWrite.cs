using Doppel.Linux.Files;
using Doppel.Linux.Native;
using Doppel.Protocol.V1;
using Microsoft.Win32.SafeHandles;

namespace Doppel.Agent.Files;

/// <summary>
/// Where one WriteFile call's bytes go. An open that truncates (and is not exclusive) replaces
/// the file whole, so the bytes go to a new file beside it, renamed over it once all are written:
/// <code>
///   /app/out.txt ──lstat (final symlinks followed inside the root)──▶ regular, nlink 1, same mount as its directory
///   .out.txt.doppel-1a2b3c4d  O_CREAT|O_EXCL in the same directory ── fchown/fchmod to the old file's owner and mode
///   data ──pwrite──▶ temporary ──fsync──▶ renameat(temporary → out.txt)
///   any failure before the rename ──▶ unlink the temporary: out.txt is untouched
/// </code>
/// It writes in place (the old O_TRUNC open) where a rename cannot stand in for the file:
/// <list type="bullet">
/// <item>the file is a mount point (a single-file ConfigMap, Secret or subPath mount; rename gives EBUSY): its stx_mnt_id differs from its directory's;</item>
/// <item>it has other hard links (st_nlink &gt; 1): a rename would leave them with the old content, in place keeps them one file;</item>
/// <item>it is not a regular file (a FIFO, a device), or the call appends or writes at an offset (nothing to replace);</item>
/// <item>the session asks for it (<c>in_place</c>: a file it locks keeps its inode); with truncate the file is cut to the bytes' length after the last one, never emptied first;</item>
/// <item>the directory takes no new file (EACCES, EPERM, EROFS) but the file may be writable, or the agent cannot give the new file the old one's owner.</item>
/// </list>
/// Every path is resolved inside the target's root (<see cref="TargetRoot"/>); a final symlink is
/// followed by hand, each hop again inside the root, so the file replaced is the one it points to.
/// </summary>
internal sealed class FileWrite : IDisposable
{
    private const int MaxSymlinkHops = 40; // the kernel's own limit (MAXSYMLINKS)
    private const int TemporaryAttempts = 8;
    private const int NameMax = 255;
    private const int NewFileMode = 0x180; // 0600 until the old file's mode is copied over

    private readonly SafeFileHandle? _directory;
    private readonly string? _name;
    private string? _temporary;

    private FileWrite(SafeFileHandle file, SafeFileHandle? directory, string? name, string? temporary)
    {
        File = file;
        _directory = directory;
        _name = name;
        _temporary = temporary;
    }

    /// <summary>The fd to pwrite the bytes to.</summary>
    public SafeFileHandle File { get; }

    /// <summary>The bytes go into the file itself: after a failure it may hold part of them.</summary>
    public bool InPlace => _temporary is null;

    /// <summary>Opens the file for <paramref name="open"/>; null with the errno when it cannot be written (nothing was changed).</summary>
    public static FileWrite? Open(TargetRoot root, bool targetless, WriteFileOpen open, out int errno)
    {
        if (!targetless && open.Truncate && !open.Exclusive && !open.InPlace)
        {
            var replacement = Replace(root, open, out errno, out var fallBack);
            if (!fallBack)
            {
                return replacement;
            }
        }

        var flags = OpenFlags.WriteOnly
            | (open.Create ? OpenFlags.Create : 0)
            | (open.Exclusive ? OpenFlags.Exclusive : 0)
            | (open.Truncate && !open.InPlace ? OpenFlags.Truncate : 0) // in place: cut to length after the last byte
            | (open.Append && open.InPlace ? OpenFlags.Append : 0); // files.write-ranges: at the file's end as it is then
        var fd = root.Open(open.Path, flags, out errno, (int)(open.Mode & 0xFFF));
        return fd is null ? null : new FileWrite(fd, null, null, null);
    }

    /// <summary>Makes the written bytes the file's: fsync and rename over it (nothing for an in-place write). 0 or the errno.</summary>
    public int Commit()
    {
        if (_temporary is null)
        {
            return 0;
        }

        var errno = RootedFiles.Sync(File);
        if (errno == 0)
        {
            errno = RootedFiles.Rename(_directory!, _temporary, _directory!, _name!, noReplace: false);
        }

        if (errno == 0)
        {
            _temporary = null; // it is the file now: nothing to remove
        }

        return errno;
    }

    /// <summary>Closes the file; a temporary that was not renamed over the file is removed.</summary>
    public void Dispose()
    {
        File.Dispose();
        if (_temporary is not null)
        {
            RootedFiles.Remove(_directory!, _temporary, directoryEntry: false);
        }

        _directory?.Dispose();
    }

    // The replacing open; fallBack when the file is to be written in place instead.
    private static FileWrite? Replace(TargetRoot root, WriteFileOpen open, out int errno, out bool fallBack)
    {
        fallBack = false;
        var directory = ResolveFinalSymlinks(root, open.Path, out var name, out var existing, out errno);
        if (directory is null)
        {
            return null;
        }

        try
        {
            if (existing is { } old && (!old.IsRegularFile || old.Nlink > 1 || !SameMount(directory, old)))
            {
                fallBack = true;
                return null;
            }

            if (existing is null && !open.Create)
            {
                errno = Errno.ENOENT;
                return null;
            }

            var temporary = CreateTemporary(directory, name, existing is null ? (int)(open.Mode & 0xFFF) : NewFileMode, out var tempName, out errno);
            if (temporary is null)
            {
                // A directory the agent may not add to can still hold a writable file.
                fallBack = errno is Errno.EACCES or Errno.EPERM or Errno.EROFS;
                return null;
            }

            if (existing is { } kept && TakeOver(temporary, kept) != 0)
            {
                // No new file can be the old one's (its owner): the old file is written itself.
                temporary.Dispose();
                RootedFiles.Remove(directory, tempName, directoryEntry: false);
                fallBack = true;
                return null;
            }

            var write = new FileWrite(temporary, directory, name, tempName);
            directory = null; // the write owns it now
            return write;
        }
        finally
        {
            directory?.Dispose();
        }
    }

    /// <summary>
    /// The directory (O_PATH, inside the root) and last name of the file <paramref name="path"/>
    /// names once final symlinks are followed, with its lstat (null when it does not exist).
    /// </summary>
    private static SafeFileHandle? ResolveFinalSymlinks(TargetRoot root, string path, out string name, out StatxInfo? existing, out int errno)
    {
        for (var hop = 0; ; hop++)
        {
            existing = null;
            var directory = root.OpenParent(path, out name, out errno);
            if (directory is null)
            {
                return null;
            }

            errno = RootedFiles.Stat(directory, name, followSymlinks: false, out var info);
            if (errno == Errno.ENOENT)
            {
                errno = 0;
                return directory;
            }

            if (errno == 0 && !info.IsSymlink)
            {
                existing = info;
                return directory;
            }

            if (errno == 0 && hop == MaxSymlinkHops)
            {
                errno = Errno.ELOOP;
            }

            if (errno == 0)
            {
                // Each hop is resolved inside the root again: an absolute link starts at its "/".
                errno = RootedFiles.ReadLink(directory, name, out var link);
                path = link.StartsWith('/') ? link : DirectoryOf(path) + "/" + link;
            }

            directory.Dispose();
            if (errno != 0)
            {
                return null;
            }
        }
    }

    private static string DirectoryOf(string path)
    {
        var trimmed = path.TrimEnd('/');
        var slash = trimmed.LastIndexOf('/');
        return slash <= 0 ? string.Empty : trimmed[..slash];
    }

    private static bool SameMount(SafeFileHandle directory, StatxInfo file) =>
        RootedFiles.Stat(directory, string.Empty, followSymlinks: false, out var info) == 0 && info.MountId == file.MountId;

    // ".NAME.doppel-XXXXXXXX" (".doppel-XXXXXXXX" for a name too long to carry), O_EXCL.
    private static SafeFileHandle? CreateTemporary(SafeFileHandle directory, string name, int mode, out string tempName, out int errno)
    {
        var stem = System.Text.Encoding.UTF8.GetByteCount(name) + 17 <= NameMax ? "." + name : string.Empty;
        for (var attempt = 0; ; attempt++)
        {
            tempName = $"{stem}.doppel-{Doppel.Linux.Native.KernelRandom.Hex(4)}"; // not RandomNumberGenerator: no libssl in the agent's image
            var fd = RootedFiles.OpenInRoot(directory, tempName, OpenFlags.WriteOnly | OpenFlags.Create | OpenFlags.Exclusive | OpenFlags.NoFollow, mode, out errno);
            if (fd is not null || errno != Errno.EEXIST || attempt == TemporaryAttempts)
            {
                return fd;
            }
        }
    }

    // The old file's owner, then its mode (chown clears set-user-ID and set-group-ID bits). 0 or the errno.
    private static int TakeOver(SafeFileHandle temporary, StatxInfo old)
    {
        var errno = RootedAttributes.ChangeOwner(temporary, string.Empty, (int)old.Uid, (int)old.Gid, followSymlinks: true);
        return errno != 0 ? errno : RootedAttributes.ChangeMode(temporary, string.Empty, (int)(old.Mode & 0xFFF), followSymlinks: true);
    }
}
