using System.Runtime.InteropServices;
using Doppel.Linux.Native;
using Microsoft.Win32.SafeHandles;

namespace Doppel.Linux.Processes;

/// <summary>Small file calls .NET has no direct API for.</summary>
public static unsafe class FileCalls
{
    /// <summary>The inode number of an open fd (fstat st_ino), or 0 on error.</summary>
    public static ulong GetInode(SafeHandle fd)
    {
        var stat = stackalloc byte[144];
        return LibC.Syscall(SyscallNumber.Fstat, fd.DangerousGetHandle(), (long)stat) < 0 ? 0 : *(ulong*)(stat + 8);
    }

    /// <summary>(st_dev, st_ino) of a path without following a final symlink; null on error.</summary>
    public static (ulong Device, ulong Inode)? GetIdentity(string path)
    {
        var stat = stackalloc byte[144];
        var pathZ = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = pathZ)
        {
            if (LibC.Syscall(SyscallNumber.Newfstatat, OpenFlags.AtFdCwd, (long)p, (long)stat, OpenFlags.AtSymlinkNoFollow) < 0)
            {
                return null;
            }
        }

        return (*(ulong*)stat, *(ulong*)(stat + 8));
    }

    /// <summary>openat(AT_FDCWD, path, flags | O_CLOEXEC, mode); the handle, or null with the errno.</summary>
    public static SafeFileHandle? Open(string path, int flags, int mode, out int errno)
    {
        var pathZ = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = pathZ)
        {
            var r = LibC.Syscall(SyscallNumber.Openat, OpenFlags.AtFdCwd, (long)p, flags | OpenFlags.CloseOnExec, mode);
            errno = r < 0 ? (int)-r : 0;
            return r < 0 ? null : new SafeFileHandle((nint)r, ownsHandle: true);
        }
    }

    /// <summary>symlink(target, path): <paramref name="target"/> stored as it is; returns 0 or the errno.</summary>
    public static int Symlink(string target, string path)
    {
        var targetZ = System.Text.Encoding.UTF8.GetBytes(target + "\0");
        var pathZ = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* t = targetZ)
        fixed (byte* p = pathZ)
        {
            var r = LibC.Syscall(SyscallNumber.Symlinkat, (long)t, OpenFlags.AtFdCwd, (long)p);
            return r < 0 ? (int)-r : 0;
        }
    }

    /// <summary>linkat(AT_FDCWD, from, AT_FDCWD, to, AT_SYMLINK_FOLLOW when <paramref name="follow"/>); returns 0 or the errno.</summary>
    public static int Link(string from, string to, bool follow)
    {
        var fromZ = System.Text.Encoding.UTF8.GetBytes(from + "\0");
        var toZ = System.Text.Encoding.UTF8.GetBytes(to + "\0");
        fixed (byte* f = fromZ)
        fixed (byte* t = toZ)
        {
            var r = LibC.Syscall(SyscallNumber.Linkat, OpenFlags.AtFdCwd, (long)f, OpenFlags.AtFdCwd, (long)t, follow ? OpenFlags.AtSymlinkFollow : 0);
            return r < 0 ? (int)-r : 0;
        }
    }

    /// <summary>access(path, X_OK) with the caller's real ids, as a shell checks a command.</summary>
    public static bool CanExecute(string path)
    {
        var pathZ = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = pathZ)
        {
            return LibC.Syscall(SyscallNumber.Access, (long)p, 1) == 0;
        }
    }

    /// <summary>uname(2) into a <see cref="Utsname.Length"/>-byte <c>struct utsname</c>; returns 0 or <c>-errno</c>.</summary>
    public static int Uname(Span<byte> utsname)
    {
        if (utsname.Length < Utsname.Length)
        {
            return -Errno.EINVAL;
        }

        fixed (byte* p = utsname)
        {
            return (int)LibC.Syscall(SyscallNumber.Uname, (long)p);
        }
    }
}
