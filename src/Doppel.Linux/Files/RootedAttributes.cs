using System.Runtime.InteropServices;
using System.Text;
using Doppel.Linux.Native;

namespace Doppel.Linux.Files;

/// <summary>
/// chmod, chown and utimensat of an entry named relative to a directory fd opened inside a
/// root (see <see cref="RootedFiles"/>): the name is a single component, so nothing here can
/// leave the root. <c>followSymlinks</c> false acts on a final symlink itself; an empty name acts
/// on the fd itself (AT_EMPTY_PATH), which is how a followed path is changed safely: open it with
/// O_PATH through <see cref="RootedFiles.OpenInRoot"/> (symlinks resolved inside the root), then
/// call these with an empty name.
/// </summary>
public static unsafe class RootedAttributes
{
    private const long UtimeOmit = (1L << 30) - 2;

    /// <summary>fchmodat2(fd, name, mode, flags); returns 0 or the errno.</summary>
    public static int ChangeMode(SafeHandle directory, string name, int mode, bool followSymlinks) =>
        Call(SyscallNumber.Fchmodat2, directory, name, mode, Flags(name, followSymlinks));

    /// <summary>fchownat(fd, name, uid, gid, flags), -1 keeping either; returns 0 or the errno.</summary>
    public static int ChangeOwner(SafeHandle directory, string name, int uid, int gid, bool followSymlinks)
    {
        var nameZ = Encoding.UTF8.GetBytes(name + "\0");
        fixed (byte* p = nameZ)
        {
            var r = LibC.Syscall(SyscallNumber.Fchownat, directory.DangerousGetHandle(), (long)p, uid, gid, Flags(name, followSymlinks));
            return r < 0 ? (int)-r : 0;
        }
    }

    /// <summary>utimensat(fd, name, times, flags); a null time is left as it is (UTIME_OMIT). Returns 0 or the errno.</summary>
    public static int ChangeTimes(SafeHandle directory, string name, (long Seconds, long Nanoseconds)? access, (long Seconds, long Nanoseconds)? modification, bool followSymlinks)
    {
        var times = stackalloc long[4];
        times[0] = access?.Seconds ?? 0;
        times[1] = access?.Nanoseconds ?? UtimeOmit;
        times[2] = modification?.Seconds ?? 0;
        times[3] = modification?.Nanoseconds ?? UtimeOmit;
        var nameZ = Encoding.UTF8.GetBytes(name + "\0");
        fixed (byte* p = nameZ)
        {
            var r = LibC.Syscall(SyscallNumber.Utimensat, directory.DangerousGetHandle(), (long)p, (long)times, Flags(name, followSymlinks));
            return r < 0 ? (int)-r : 0;
        }
    }

    private static int Flags(string name, bool followSymlinks) =>
        (followSymlinks ? 0 : OpenFlags.AtSymlinkNoFollow) | (name.Length == 0 ? OpenFlags.AtEmptyPath : 0);

    private static int Call(int number, SafeHandle directory, string name, int argument, int flags)
    {
        var nameZ = Encoding.UTF8.GetBytes(name + "\0");
        fixed (byte* p = nameZ)
        {
            var r = LibC.Syscall(number, directory.DangerousGetHandle(), (long)p, argument, flags);
            return r < 0 ? (int)-r : 0;
        }
    }
}
