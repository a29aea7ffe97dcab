using Doppel.Interception.Policy;
using Doppel.Interception.Supervision;
using Doppel.Linux.Native;

namespace Doppel.Interception.Files;

/// <summary>
/// symlink/symlinkat and link/linkat whose new name is a pod path (absolute, or relative to a pod
/// working directory) are refused rather than made on this machine: the agent has no call that
/// makes links in the pod yet. symlink gets EPERM (symlink(2): "the file system does not support
/// the creation of symbolic links"), link of two pod paths EPERM too, link across the pod/local
/// boundary EXDEV (two file systems, as Linux says); read mode refuses as for any write (EROFS).
/// A local new name (and a relative one resolved against a local working directory) is the kernel's.
/// </summary>
internal sealed partial class FileHandler
{
    private HandlerResult Symlink(Notification n, int dirfd, ulong linkAddress)
    {
        var (path, early) = Decide(n, dirfd, linkAddress, FileIntent.Write);
        return path is null ? early!.Value : n.Fail(Refused);
    }

    /// <summary>A pod path as a link's new name: EROFS in read mode (as every write), EPERM in write mode.</summary>
    private int Refused => (policy.Families & SyscallFamilies.FilesWrite) == 0 ? Errno.EROFS : Errno.EPERM;

    private HandlerResult Link(Notification n, int fromDirfd, ulong fromAddress, int toDirfd, ulong toAddress)
    {
        var (from, fromEarly) = Decide(n, fromDirfd, fromAddress, FileIntent.Read);
        var (to, toEarly) = Decide(n, toDirfd, toAddress, FileIntent.Write);
        if (to is null)
        {
            // A refusal of the new name wins; a local new name from a pod file crosses file systems.
            return toEarly!.Value.Response is { Flags: 0 } ? toEarly.Value : from is not null ? n.Fail(Errno.EXDEV) : fromEarly!.Value;
        }

        return from is not null ? n.Fail(Refused)
            : fromEarly!.Value.Response is { Flags: not 0 } ? n.Fail(Errno.EXDEV) // a local file linked into the pod
            : fromEarly.Value;
    }
}
