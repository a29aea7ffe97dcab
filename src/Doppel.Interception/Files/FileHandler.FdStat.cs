using System.Collections.Concurrent;
using Doppel.Interception.Remote;
using Doppel.Interception.Supervision;
using Doppel.Linux.Files;
using Doppel.Linux.Native;

namespace Doppel.Interception.Files;

/// <summary>
/// fstat, newfstatat(fd, "", AT_EMPTY_PATH) and statx(fd, "", AT_EMPTY_PATH) of an fd on a pod
/// file's local copy answer what stat of its path answers (<see cref="PodIdentity"/>, the pod's
/// owner, mode, size and times), so a program comparing the two sees one file, as GNU cp
/// ("replaced while being copied": st_dev/st_ino), install, and tar ("file changed as we read it":
/// st_ctime and st_size) do. Without this the kernel answers fstat with the copy's own inode, owner
/// and change time.
/// <code>
///   fstat(fd) ─► /proc/TID/fd/FD ─► outside the cache tree ──► continue
///                                  └► pod path P ─► stat of the fd's own file
///        fetched copy, not written, unchanged ──► the pod stat its content came with
///        written (or an older copy, a directory) ──► the pod's entry with the copy's type, mode, size, blocks, times
/// </code>
/// The cost: the filter traps the fd forms of stat on fds 3 and up (0–2 stay in the kernel), and an
/// fd outside the cache tree costs one round trip to the supervisor and one readlink; an fd of the
/// tree costs a stat of the fd and, at most once per path, a remote stat for the owner.
/// </summary>
internal sealed partial class FileHandler
{
    private const string Deleted = " (deleted)";

    // The last pod entry seen of directories and written files: their owner for fstat without a round trip.
    private readonly ConcurrentDictionary<string, RemoteEntry> _seen = new(StringComparer.Ordinal);

    private void Remember(string path, RemoteEntry entry)
    {
        if (entry.Kind == RemoteEntryKind.Directory || files.IsWritten(path))
        {
            _seen[path] = entry;
        }
    }

    /// <summary>newfstatat/statx with AT_EMPTY_PATH: an empty path stats the fd itself (or the working directory); any other path is a path.</summary>
    private ValueTask<HandlerResult> EmptyPathStatAsync(Notification n, int dirfd, ulong pathAddress, ulong buffer, bool follow, bool statx, CancellationToken cancellationToken)
    {
        var raw = n.ReadString(pathAddress);
        return raw switch
        {
            null => new(n.Continue()),
            "" when dirfd == OpenFlags.AtFdCwd => StatAsync(n, dirfd, ".", buffer, follow, statx, cancellationToken),
            "" => FdStatAsync(n, dirfd, buffer, statx, cancellationToken),
            _ => StatAsync(n, dirfd, raw, buffer, follow, statx, cancellationToken),
        };
    }

    private ValueTask<HandlerResult> FdStatAsync(Notification n, int fd, ulong buffer, bool statx, CancellationToken cancellationToken)
    {
        var target = FdLinks.Target(n.ThreadId, fd);
        var deleted = target?.EndsWith(Deleted, StringComparison.Ordinal) == true;
        var path = target is null ? null : files.RemotePathOf(deleted ? target[..^Deleted.Length] : target);

        // The magic link follows to the fd's own file, even one replaced or deleted since.
        if (path is null || RootedFiles.Stat($"/proc/{n.ThreadId}/fd/{fd}", followSymlinks: true, out var local) != 0)
        {
            return new(n.Continue());
        }

        return FdStatRemoteAsync(n, path, local, deleted, buffer, statx, cancellationToken);
    }

    private async ValueTask<HandlerResult> FdStatRemoteAsync(Notification n, string path, StatxInfo local, bool deleted, ulong buffer, bool statx, CancellationToken cancellationToken)
    {
        var fetched = local.IsRegularFile && !deleted && !files.IsWritten(path) ? files.FetchedEntry(path) : null;
        RemoteEntry entry;
        if (fetched is not null && fetched.Size == (long)local.Size && fetched.LastWriteTime == Time(local.Mtime))
        {
            entry = fetched; // the copy this fd reads: the pod's stat of these very bytes
        }
        else
        {
            var pod = fetched ?? (_seen.TryGetValue(path, out var seen) ? seen : null);
            if (pod is null)
            {
                pod = await remote.GetEntryAsync(path, followSymlinks: true, cancellationToken).ConfigureAwait(false);
                if (pod is not null)
                {
                    _seen[path] = pod;
                }
            }

            entry = Overlay(pod, path, local);
        }

        return Answer(n, buffer, entry, PodIdentity.Of(path, entry.Kind), statx);
    }

    /// <summary>A pod entry with what the local copy says of the program's own writes: type, mode, size, blocks and times.</summary>
    private static RemoteEntry Overlay(RemoteEntry? pod, string path, StatxInfo local)
    {
        var kind = (local.Mode & StatxInfo.TypeMask) == 0x4000 ? RemoteEntryKind.Directory : RemoteEntryKind.File;
        pod ??= new RemoteEntry(path[(path.LastIndexOf('/') + 1)..], kind, (int)(local.Mode & 0xfff), 0, 0, 0, default, default);
        if (kind == RemoteEntryKind.Directory)
        {
            return pod.Kind == RemoteEntryKind.Directory ? pod : pod with { Kind = kind }; // the cache's directories keep the supervisor's mode
        }

        return pod with
        {
            Kind = kind,
            Mode = (int)(local.Mode & 0xfff),
            Size = (long)local.Size,
            Blocks = (long)local.Blocks,
            LastWriteTime = Time(local.Mtime),
            LastAccessTime = Time(local.Atime),
        };
    }

    private static DateTimeOffset Time((long Seconds, uint Nanoseconds) t) => DateTimeOffset.FromUnixTimeSeconds(t.Seconds).AddTicks(t.Nanoseconds / 100);
}
