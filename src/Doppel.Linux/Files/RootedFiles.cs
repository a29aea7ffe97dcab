using System.Runtime.InteropServices;
using System.Text;
using Doppel.Linux.Native;
using Microsoft.Win32.SafeHandles;

namespace Doppel.Linux.Files;

/// <summary>
/// File calls relative to a directory fd. <see cref="OpenInRoot"/> resolves a whole path with
/// openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS): "..", absolute symlinks and relative ones
/// all stay inside the root, as they would for a process chrooted there. The other calls take
/// an fd opened that way plus a single name (no slash) or an empty name (AT_EMPTY_PATH).
/// </summary>
public static unsafe class RootedFiles
{
    private const ulong ResolveNoMagicLinks = 0x02;
    private const ulong ResolveInRoot = 0x10;
    private const int StatxBasicStatsAndBtime = 0x0FFF;
    private const int StatxMountId = 0x1000;

    /// <summary>Opens <paramref name="path"/> inside <paramref name="root"/>; the handle, or null with the errno.</summary>
    public static SafeFileHandle? OpenInRoot(SafeHandle root, string path, int flags, int mode, out int errno)
    {
        var how = stackalloc ulong[3];
        how[0] = (ulong)(uint)(flags | OpenFlags.CloseOnExec);
        how[1] = (flags & (OpenFlags.Create | OpenFlags.TmpFile)) != 0 ? (ulong)(uint)mode : 0;
        how[2] = ResolveInRoot | ResolveNoMagicLinks;
        var pathZ = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = pathZ)
        {
            var r = LibC.Syscall(SyscallNumber.Openat2, root.DangerousGetHandle(), (long)p, (long)how, 24);
            errno = r < 0 ? (int)-r : 0;
            return r < 0 ? null : new SafeFileHandle((nint)r, ownsHandle: true);
        }
    }

    /// <summary>statx(fd, name, flags); an empty name means the fd itself. Returns 0 or the errno.</summary>
    public static int Stat(SafeHandle directory, string name, bool followSymlinks, out StatxInfo info) =>
        StatAt(directory.DangerousGetHandle(), name, (followSymlinks ? 0 : OpenFlags.AtSymlinkNoFollow) | (name.Length == 0 ? OpenFlags.AtEmptyPath : 0), out info);

    /// <summary>
    /// statx(AT_FDCWD, path, flags) of a path of this process (not inside a root): tells a named
    /// pipe or a device from a regular file without opening it. Returns 0 or the errno.
    /// </summary>
    public static int Stat(string path, bool followSymlinks, out StatxInfo info) =>
        StatAt(OpenFlags.AtFdCwd, path, followSymlinks ? 0 : OpenFlags.AtSymlinkNoFollow, out info);

    /// <summary>readlinkat(fd, name); an empty name reads the O_PATH|O_NOFOLLOW fd's own link. Returns 0 or the errno.</summary>
    public static int ReadLink(SafeHandle directory, string name, out string target)
    {
        var buffer = new byte[4096];
        var nameZ = Encoding.UTF8.GetBytes(name + "\0");
        long r;
        fixed (byte* p = nameZ)
        fixed (byte* b = buffer)
        {
            r = LibC.Syscall(SyscallNumber.Readlinkat, directory.DangerousGetHandle(), (long)p, (long)b, buffer.Length);
        }

        target = r < 0 ? string.Empty : Encoding.UTF8.GetString(buffer, 0, (int)r);
        return r < 0 ? (int)-r : 0;
    }

    /// <summary>mkdirat(fd, name, mode); returns 0 or the errno.</summary>
    public static int MakeDirectory(SafeHandle directory, string name, int mode) =>
        NameCall(SyscallNumber.Mkdirat, directory, name, mode);

    /// <summary>unlinkat(fd, name, AT_REMOVEDIR or 0); returns 0 or the errno.</summary>
    public static int Remove(SafeHandle directory, string name, bool directoryEntry) =>
        NameCall(SyscallNumber.Unlinkat, directory, name, directoryEntry ? OpenFlags.AtRemoveDir : 0);

    /// <summary>renameat2(fromDir, from, toDir, to, RENAME_NOREPLACE or 0); returns 0 or the errno.</summary>
    public static int Rename(SafeHandle fromDirectory, string from, SafeHandle toDirectory, string to, bool noReplace, bool exchange = false)
    {
        var fromZ = Encoding.UTF8.GetBytes(from + "\0");
        var toZ = Encoding.UTF8.GetBytes(to + "\0");
        fixed (byte* f = fromZ)
        fixed (byte* t = toZ)
        {
            var r = LibC.Syscall(SyscallNumber.Renameat2, fromDirectory.DangerousGetHandle(), (long)f, toDirectory.DangerousGetHandle(), (long)t, (noReplace ? 1 : 0) | (exchange ? 2 : 0));
            return r < 0 ? (int)-r : 0;
        }
    }

    /// <summary>symlinkat(target, fd, name): a symlink holding <paramref name="target"/> as it is; returns 0 or the errno.</summary>
    public static int MakeSymlink(string target, SafeHandle directory, string name)
    {
        var targetZ = Encoding.UTF8.GetBytes(target + "\0");
        var nameZ = Encoding.UTF8.GetBytes(name + "\0");
        fixed (byte* t = targetZ)
        fixed (byte* n = nameZ)
        {
            var r = LibC.Syscall(SyscallNumber.Symlinkat, (long)t, directory.DangerousGetHandle(), (long)n);
            return r < 0 ? (int)-r : 0;
        }
    }

    /// <summary>
    /// linkat(fromDir, from, toDir, to, 0): a new name for the entry <paramref name="from"/> itself
    /// (a symlink is linked, not followed, as link(2) on Linux); returns 0 or the errno.
    /// </summary>
    public static int Link(SafeHandle fromDirectory, string from, SafeHandle toDirectory, string to) =>
        LinkAt(fromDirectory.DangerousGetHandle(), from, toDirectory, to, 0);

    /// <summary>
    /// A new name for the file an fd (an O_PATH one too) refers to: linkat(AT_FDCWD,
    /// "/proc/self/fd/N", toDir, to, AT_SYMLINK_FOLLOW), the form linkat(2) documents for callers
    /// without CAP_DAC_READ_SEARCH (which AT_EMPTY_PATH needs). Returns 0 or the errno (ENOENT for
    /// a file with no name left, EPERM for a directory, EXDEV across mounts).
    /// </summary>
    public static int Link(SafeHandle file, SafeHandle toDirectory, string to) =>
        LinkAt(OpenFlags.AtFdCwd, $"/proc/self/fd/{file.DangerousGetHandle()}", toDirectory, to, OpenFlags.AtSymlinkFollow);

    /// <summary>ftruncate(fd, length); returns 0 or the errno.</summary>
    public static int Truncate(SafeHandle file, long length)
    {
        var r = LibC.Syscall(SyscallNumber.Ftruncate, file.DangerousGetHandle(), length);
        return r < 0 ? (int)-r : 0;
    }

    /// <summary>fsync(fd): the file's data and metadata on stable storage; returns 0 or the errno (EIO, ENOSPC, EDQUOT on file systems that allocate late).</summary>
    public static int Sync(SafeHandle file)
    {
        var r = LibC.Syscall(SyscallNumber.Fsync, file.DangerousGetHandle());
        return r < 0 ? (int)-r : 0;
    }

    /// <summary>pwrite(fd, data, offset); returns the count written or <c>-errno</c>.</summary>
    public static long WriteAt(SafeHandle file, ReadOnlySpan<byte> data, long offset)
    {
        fixed (byte* p = data)
        {
            return LibC.Syscall(SyscallNumber.Pwrite64, file.DangerousGetHandle(), (long)p, data.Length, offset);
        }
    }

    private static int StatAt(nint directory, string name, int flags, out StatxInfo info)
    {
        var buffer = stackalloc byte[256];
        var nameZ = Encoding.UTF8.GetBytes(name + "\0");
        long r;
        fixed (byte* p = nameZ)
        {
            r = LibC.Syscall(SyscallNumber.Statx, directory, (long)p, flags, StatxBasicStatsAndBtime | StatxMountId, (long)buffer);
        }

        if (r < 0)
        {
            info = default;
            return (int)-r;
        }

        static (long, uint) Time(byte* t) => (*(long*)t, *(uint*)(t + 8));
        info = new StatxInfo(
            Mode: *(ushort*)(buffer + 28),
            Uid: *(uint*)(buffer + 20),
            Gid: *(uint*)(buffer + 24),
            Size: *(ulong*)(buffer + 40),
            Nlink: *(uint*)(buffer + 16),
            Inode: *(ulong*)(buffer + 32),
            DevMajor: *(uint*)(buffer + 136),
            DevMinor: *(uint*)(buffer + 140),
            RdevMajor: *(uint*)(buffer + 128),
            RdevMinor: *(uint*)(buffer + 132),
            BlockSize: *(uint*)(buffer + 4),
            Blocks: *(ulong*)(buffer + 48),
            Atime: Time(buffer + 64),
            Mtime: Time(buffer + 112),
            Ctime: Time(buffer + 96),
            Btime: Time(buffer + 80),
            MountId: (*(uint*)buffer & StatxMountId) != 0 ? *(ulong*)(buffer + 144) : 0);
        return 0;
    }

    private static int LinkAt(nint fromDirectory, string from, SafeHandle toDirectory, string to, int flags)
    {
        var fromZ = Encoding.UTF8.GetBytes(from + "\0");
        var toZ = Encoding.UTF8.GetBytes(to + "\0");
        fixed (byte* f = fromZ)
        fixed (byte* t = toZ)
        {
            var r = LibC.Syscall(SyscallNumber.Linkat, fromDirectory, (long)f, toDirectory.DangerousGetHandle(), (long)t, flags);
            return r < 0 ? (int)-r : 0;
        }
    }

    private static int NameCall(int number, SafeHandle directory, string name, int argument)
    {
        var nameZ = Encoding.UTF8.GetBytes(name + "\0");
        fixed (byte* p = nameZ)
        {
            var r = LibC.Syscall(number, directory.DangerousGetHandle(), (long)p, argument);
            return r < 0 ? (int)-r : 0;
        }
    }
}
