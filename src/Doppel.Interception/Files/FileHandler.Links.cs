using Doppel.Interception.Policy;
using Doppel.Interception.Remote;
using Doppel.Interception.Supervision;
using Doppel.Linux.Native;
using Doppel.Linux.Processes;

namespace Doppel.Interception.Files;

/// <summary>
/// symlink/symlinkat and link/linkat. A new name that is a pod path (absolute, or relative to a pod
/// working directory) is made in the pod at the call (write mode), so another pod process sees it
/// once the call returns and the pod's errno (EEXIST, ENOENT, EPERM for a directory, EXDEV across
/// the pod's mounts) is the call's:
/// <code>
///   symlink(target, new) ─► new: pod ──► agent symlink(target as it is, new) ──► 0 / pod errno
///                               local ──► the kernel's (relative to a virtual cwd: made here)
///   link(old, new)       ─► both pod ──► old's unsent writes sent ──► agent linkat(old, new) ──► 0 / pod errno
///                           one pod, one local ──► EXDEV (two file systems, as Linux says)
///                           both local ──► the kernel's (relative to a virtual cwd: made here)
/// </code>
/// A file the program is still writing keeps close-to-open consistency under both names: its
/// content so far is sent before the link, and the agent writes a file with two names in place, so
/// each later fsync/close reaches the new name too (<see cref="IFileSync.LinkAsync"/>). A pod file
/// the policy keeps read-only gets no second name (EROFS): writes through it would change the file.
/// Read mode refuses a pod new name as every write (EROFS).
/// </summary>
internal sealed partial class FileHandler
{
    private ValueTask<HandlerResult> SymlinkAsync(Notification n, int dirfd, ulong linkAddress, CancellationToken cancellationToken)
    {
        var target = n.ReadString(n.Arg(0));
        if (target is null)
        {
            return new(n.Continue()); // the kernel reports the bad pointer (EFAULT) before it looks at the new name
        }

        var link = Locate(n, dirfd, n.ReadString(linkAddress), FileIntent.Write);
        switch (link.Place)
        {
            case Place.Remote when (policy.Families & SyscallFamilies.FilesWrite) == 0:
                return new(n.Fail(Errno.EROFS));
            case Place.Remote when files.IsWritten(link.Path!):
                return new(n.Fail(Errno.EEXIST)); // the program's own file, which the pod may not have yet
            case Place.Remote:
                var path = link.Path!;
                return Remotely(n, async () =>
                {
                    await remote.SymlinkAsync(target, path, cancellationToken).ConfigureAwait(false);
                    files.Forget(path); // the directory is listed again on its next open, with the link
                });
            case Place.LocalThroughVirtual:
                return new(n.IsValid() ? Done(n, FileCalls.Symlink(target, link.Path!)) : n.Continue());
            default:
                return new(link.Early!.Value);
        }
    }

    private ValueTask<HandlerResult> LinkAsync(Notification n, int fromDirfd, ulong fromAddress, int toDirfd, ulong toAddress, int flags, CancellationToken cancellationToken)
    {
        var fromRaw = n.ReadString(fromAddress);
        var from = Locate(n, fromDirfd, fromRaw, FileIntent.Read);
        var to = Locate(n, toDirfd, n.ReadString(toAddress), FileIntent.Write);

        // A refusal of the new name wins, then one of the old name.
        if (to.Place == Place.Refused || from.Place == Place.Refused)
        {
            return new((to.Place == Place.Refused ? to : from).Early!.Value);
        }

        var follow = (flags & OpenFlags.AtSymlinkFollow) != 0;
        switch (from.Place, to.Place)
        {
            case (Place.Remote, Place.Remote) when (policy.Families & SyscallFamilies.FilesWrite) == 0:
                return new(n.Fail(Errno.EROFS));
            case (Place.Remote, Place.Remote) when (flags & ~(OpenFlags.AtSymlinkFollow | OpenFlags.AtEmptyPath)) != 0:
                return new(n.Fail(Errno.EINVAL));
            case (Place.Remote, Place.Remote):
                // A second name of a file the policy keeps read-only would let writes through it change the file.
                if (DecisionErrnos.ForFile(policy.DecideFile(from.Path!, FileIntent.Write)) is { } refused)
                {
                    return new(n.Fail(refused));
                }

                return files.IsWritten(to.Path!) ? new(n.Fail(Errno.EEXIST)) : LinkRemoteAsync(n, from.Path!, to.Path!, follow, cancellationToken);
            case (Place.Remote, Place.Local or Place.LocalThroughVirtual):
            case (Place.Local or Place.LocalThroughVirtual, Place.Remote):
                return new(n.Fail(Errno.EXDEV));
            case (Place.Local or Place.LocalThroughVirtual, Place.LocalThroughVirtual):
            case (Place.LocalThroughVirtual, Place.Local):
                return new(n.IsValid() ? Done(n, FileCalls.Link(from.Path!, to.Path!, follow)) : n.Continue());
            case (Place.Unknown, Place.Remote):
                // An fd's own file (AT_EMPTY_PATH: a local copy at best) or an unseen directory is no pod path to link.
                return new(n.Fail(string.IsNullOrEmpty(fromRaw) && (flags & OpenFlags.AtEmptyPath) == 0 ? Errno.ENOENT : Errno.EXDEV));
            case (Place.Unknown, Place.LocalThroughVirtual):
                return new(n.Fail(Errno.ENOENT)); // the kernel would make the new name in another directory
            default:
                return new(n.Continue());
        }
    }

    private async ValueTask<HandlerResult> LinkRemoteAsync(Notification n, string from, string to, bool follow, CancellationToken cancellationToken)
    {
        try
        {
            await files.LinkAsync(from, to, c => remote.LinkAsync(from, to, follow, c).AsTask(), cancellationToken).ConfigureAwait(false);
            return n.Return(0);
        }
        catch (RemoteFileException e)
        {
            return n.Fail(e.Errno); // the pod's refusal, or the send of the unsent writes failed (nothing linked)
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return n.Fail(Errno.EIO); // the local copy could not be read for that send
        }
    }

    /// <summary>0 or an errno of a call made here on the caller's behalf, as the caller's answer.</summary>
    private static HandlerResult Done(Notification n, int errno) => errno == 0 ? n.Return(0) : n.Fail(errno);
}
