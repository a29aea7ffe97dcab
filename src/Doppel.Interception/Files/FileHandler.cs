using System.Buffers.Binary;
using System.Text;
using Doppel.Interception.Policy;
using Doppel.Interception.Remote;
using Doppel.Interception.Supervision;
using Doppel.Linux.Native;
using Doppel.Linux.Processes;
using Microsoft.Extensions.Logging;

namespace Doppel.Interception.Files;

/// <summary>
/// File syscalls on remote paths. Opens are served from the cache tree and the fd injected
/// with ADDFD; everything that only returns metadata is answered from the remote directly.
/// <code>
///   openat(dirfd, "x") ─► absolute path (dirfd/cwd via /proc/TID/...) ─► policy
///      local ──► continue                       remote ──► fetch into ROOT/path, open, ADDFD
///   statx/newfstatat/stat/lstat ─► remote entry ─► struct written into the caller
/// </code>
/// </summary>
internal sealed partial class FileHandler(IInterceptionPolicy policy, IRemote remote, IFileSync files, ILogger logger, WorkingDirectories directories) : ISyscallHandler
{
    private const int AccessWrite = 2;
    private const int AccessExecute = 1;

    public IEnumerable<int> SyscallNumbers =>
    [
        SyscallNumber.Open, SyscallNumber.Openat, SyscallNumber.Openat2, SyscallNumber.Creat,
        SyscallNumber.Stat, SyscallNumber.Lstat, SyscallNumber.Newfstatat, SyscallNumber.Statx, SyscallNumber.Fstat,
        SyscallNumber.Access, SyscallNumber.Faccessat, SyscallNumber.Faccessat2,
        SyscallNumber.Readlink, SyscallNumber.Readlinkat,
        SyscallNumber.GetXattr, SyscallNumber.LGetXattr, SyscallNumber.ListXattr, SyscallNumber.LListXattr,
        SyscallNumber.Mkdir, SyscallNumber.Mkdirat, SyscallNumber.Unlink, SyscallNumber.Unlinkat, SyscallNumber.Rmdir,
        SyscallNumber.Rename, SyscallNumber.Renameat, SyscallNumber.Renameat2, SyscallNumber.Truncate,
        SyscallNumber.Chmod, SyscallNumber.Fchmodat, SyscallNumber.Fchmodat2,
        SyscallNumber.Chown, SyscallNumber.Lchown, SyscallNumber.Fchownat, SyscallNumber.Utimensat,
        SyscallNumber.Chdir, SyscallNumber.Fchdir, SyscallNumber.Getcwd,
        SyscallNumber.Link, SyscallNumber.Linkat, SyscallNumber.Symlink, SyscallNumber.Symlinkat,
        SyscallNumber.Execve, SyscallNumber.Execveat,
    ];

    public ValueTask<HandlerResult> HandleAsync(Notification n, CancellationToken cancellationToken)
    {
        const int cwd = OpenFlags.AtFdCwd;
        return n.Nr switch
        {
            SyscallNumber.Open => OpenAsync(n, cwd, n.Arg(0), n.ArgInt(1), n.ArgInt(2), cancellationToken),
            SyscallNumber.Openat => OpenAsync(n, n.ArgInt(0), n.Arg(1), n.ArgInt(2), n.ArgInt(3), cancellationToken),
            SyscallNumber.Openat2 => Openat2Async(n, cancellationToken),
            SyscallNumber.Creat => OpenAsync(n, cwd, n.Arg(0), OpenFlags.Create | OpenFlags.WriteOnly | OpenFlags.Truncate, n.ArgInt(1), cancellationToken),
            SyscallNumber.Stat => StatAsync(n, cwd, n.Arg(0), n.Arg(1), follow: true, statx: false, cancellationToken),
            SyscallNumber.Lstat => StatAsync(n, cwd, n.Arg(0), n.Arg(1), follow: false, statx: false, cancellationToken),
            SyscallNumber.Newfstatat => (n.ArgInt(3) & OpenFlags.AtEmptyPath) != 0
                ? EmptyPathStatAsync(n, n.ArgInt(0), n.Arg(1), n.Arg(2), Follows(n.ArgInt(3)), statx: false, cancellationToken)
                : StatAsync(n, n.ArgInt(0), n.Arg(1), n.Arg(2), Follows(n.ArgInt(3)), statx: false, cancellationToken),
            SyscallNumber.Statx => (n.ArgInt(2) & OpenFlags.AtEmptyPath) != 0
                ? EmptyPathStatAsync(n, n.ArgInt(0), n.Arg(1), n.Arg(4), Follows(n.ArgInt(2)), statx: true, cancellationToken)
                : StatAsync(n, n.ArgInt(0), n.Arg(1), n.Arg(4), Follows(n.ArgInt(2)), statx: true, cancellationToken),
            SyscallNumber.Fstat => FdStatAsync(n, n.ArgInt(0), n.Arg(1), statx: false, cancellationToken),
            SyscallNumber.Access => AccessAsync(n, cwd, n.Arg(0), n.ArgInt(1), follow: true, cancellationToken),
            SyscallNumber.Faccessat => AccessAsync(n, n.ArgInt(0), n.Arg(1), n.ArgInt(2), follow: true, cancellationToken),
            SyscallNumber.Faccessat2 => AccessAsync(n, n.ArgInt(0), n.Arg(1), n.ArgInt(2), Follows(n.ArgInt(3)), cancellationToken),
            SyscallNumber.Readlink => ReadlinkAsync(n, cwd, n.Arg(0), n.Arg(1), n.Arg(2), cancellationToken),
            SyscallNumber.Readlinkat => ReadlinkAsync(n, n.ArgInt(0), n.Arg(1), n.Arg(2), n.Arg(3), cancellationToken),
            SyscallNumber.GetXattr or SyscallNumber.ListXattr => XattrAsync(n, follow: true, cancellationToken),
            SyscallNumber.LGetXattr or SyscallNumber.LListXattr => XattrAsync(n, follow: false, cancellationToken),
            SyscallNumber.Mkdir => MkdirAsync(n, cwd, n.Arg(0), n.ArgInt(1), cancellationToken),
            SyscallNumber.Mkdirat => MkdirAsync(n, n.ArgInt(0), n.Arg(1), n.ArgInt(2), cancellationToken),
            SyscallNumber.Unlink => DeleteAsync(n, cwd, n.Arg(0), directory: false, cancellationToken),
            SyscallNumber.Rmdir => DeleteAsync(n, cwd, n.Arg(0), directory: true, cancellationToken),
            SyscallNumber.Unlinkat => DeleteAsync(n, n.ArgInt(0), n.Arg(1), (n.ArgInt(2) & OpenFlags.AtRemoveDir) != 0, cancellationToken),
            SyscallNumber.Rename => RenameAsync(n, cwd, n.Arg(0), cwd, n.Arg(1), 0, cancellationToken),
            SyscallNumber.Renameat => RenameAsync(n, n.ArgInt(0), n.Arg(1), n.ArgInt(2), n.Arg(3), 0, cancellationToken),
            SyscallNumber.Renameat2 => RenameAsync(n, n.ArgInt(0), n.Arg(1), n.ArgInt(2), n.Arg(3), n.ArgInt(4), cancellationToken),
            SyscallNumber.Truncate => TruncateAsync(n, n.Arg(0), (long)n.Arg(1), cancellationToken),
            SyscallNumber.Chmod => ChmodAsync(n, cwd, n.Arg(0), n.ArgInt(1), follow: true, cancellationToken),
            SyscallNumber.Fchmodat => ChmodAsync(n, n.ArgInt(0), n.Arg(1), n.ArgInt(2), follow: true, cancellationToken),
            SyscallNumber.Fchmodat2 => ChmodAsync(n, n.ArgInt(0), n.Arg(1), n.ArgInt(2), Follows(n.ArgInt(3)), cancellationToken),
            SyscallNumber.Chown => ChownAsync(n, cwd, n.Arg(0), n.ArgInt(1), n.ArgInt(2), follow: true, cancellationToken),
            SyscallNumber.Lchown => ChownAsync(n, cwd, n.Arg(0), n.ArgInt(1), n.ArgInt(2), follow: false, cancellationToken),
            SyscallNumber.Fchownat => ChownAsync(n, n.ArgInt(0), n.Arg(1), n.ArgInt(2), n.ArgInt(3), Follows(n.ArgInt(4)), cancellationToken),
            SyscallNumber.Utimensat => UtimensatAsync(n, cancellationToken),
            SyscallNumber.Chdir => ChdirAsync(n, cancellationToken),
            SyscallNumber.Fchdir => new(Fchdir(n)),
            SyscallNumber.Getcwd => new(Getcwd(n)),
            SyscallNumber.Symlink => SymlinkAsync(n, cwd, n.Arg(1), cancellationToken),
            SyscallNumber.Symlinkat => SymlinkAsync(n, n.ArgInt(1), n.Arg(2), cancellationToken),
            SyscallNumber.Link => LinkAsync(n, cwd, n.Arg(0), cwd, n.Arg(1), 0, cancellationToken),
            SyscallNumber.Linkat => LinkAsync(n, n.ArgInt(0), n.Arg(1), n.ArgInt(2), n.Arg(3), n.ArgInt(4), cancellationToken),
            SyscallNumber.Execve => ExecAsync(n, cwd, n.Arg(0), cancellationToken),
            SyscallNumber.Execveat => ExecAsync(n, n.ArgInt(0), n.Arg(1), cancellationToken),
            _ => new(n.Continue()),
        };
    }

    /// <summary>Runs a remote operation, turning <see cref="RemoteFileException"/> into the errno it carries.</summary>
    private static async ValueTask<HandlerResult> Remotely(Notification n, Func<ValueTask> operation)
    {
        try
        {
            await operation().ConfigureAwait(false);
            return n.Return(0);
        }
        catch (RemoteFileException e)
        {
            return n.Fail(e.Errno);
        }
    }

    private static bool Follows(int atFlags) => (atFlags & OpenFlags.AtSymlinkNoFollow) == 0;

    /// <summary>
    /// The absolute path a call names, with the policy's decision; null path means "continue"
    /// (unreadable, empty, or a dirfd we cannot see).
    /// </summary>
    private (string? Path, HandlerResult? Early) Decide(Notification n, int dirfd, ulong pathAddress, FileIntent intent)
        => Decide(n, dirfd, n.ReadString(pathAddress), intent);

    private (string? Path, HandlerResult? Early) Decide(Notification n, int dirfd, string? raw, FileIntent intent)
    {
        var at = Locate(n, dirfd, raw, intent);
        return at.Place switch
        {
            Place.Remote => (at.Path, null),
            Place.LocalThroughVirtual => (null, LocalThroughVirtual(n, at.Path!)),
            _ => (null, at.Early),
        };
    }

    /// <summary>
    /// Where a path a call names is (<see cref="Place"/>): for a remote one its remote path, for a
    /// local one its absolute path, and the answer a caller that goes no further gives (continue,
    /// or the policy's refusal).
    /// </summary>
    private Located Locate(Notification n, int dirfd, string? raw, FileIntent intent)
    {
        if (string.IsNullOrEmpty(raw))
        {
            return new(Place.Unknown, null, n.Continue());
        }

        var (absolute, throughVirtual) = Absolute(n, dirfd, raw);
        if (absolute is null)
        {
            return new(Place.Unknown, null, n.Continue());
        }

        // A path inside the cache tree is already a remote path; anything else is mapped first.
        var path = files.RemotePathOf(absolute) ?? policy.MapPath(absolute);
        var decision = policy.DecideFile(path, intent);

        // Only a decision that acts needs the caller to still be the one we read from: a
        // "continue" for a caller that has gone is simply refused by the kernel.
        if (decision != InterceptionDecision.Local && !n.IsValid())
        {
            return new(Place.Unknown, null, n.Continue());
        }

        return decision == InterceptionDecision.Remote ? new(Place.Remote, path, null)
            : DecisionErrnos.ForFile(decision) is { } errno ? new(Place.Refused, null, n.Fail(errno))
            : new(throughVirtual ? Place.LocalThroughVirtual : Place.Local, absolute, n.Continue());
    }

    private ValueTask<HandlerResult> Openat2Async(Notification n, CancellationToken cancellationToken)
    {
        // struct open_how { u64 flags; u64 mode; u64 resolve; }
        Span<byte> how = stackalloc byte[24];
        if (n.Arg(3) < 24 || !n.Read(n.Arg(2), how))
        {
            return new(n.Continue());
        }

        if (BinaryPrimitives.ReadUInt64LittleEndian(how[16..]) != 0)
        {
            return new(n.Continue()); // RESOLVE_* restrictions: keep them local and exact
        }

        return OpenAsync(n, n.ArgInt(0), n.Arg(1), (int)BinaryPrimitives.ReadUInt64LittleEndian(how), (int)BinaryPrimitives.ReadUInt64LittleEndian(how[8..]), cancellationToken);
    }

    private ValueTask<HandlerResult> OpenAsync(Notification n, int dirfd, ulong pathAddress, int flags, int mode, CancellationToken cancellationToken)
    {
        var writes = (flags & OpenFlags.AccessModeMask) != OpenFlags.ReadOnly || (flags & (OpenFlags.Create | OpenFlags.Truncate)) != 0;
        var (path, early) = Decide(n, dirfd, pathAddress, writes ? FileIntent.Write : FileIntent.Read);
        return path is null ? new(early!.Value)
            : IsSqliteSharedMemory(path) ? new(n.Fail(Errno.EACCES))
            : OpenRemoteAsync(n, path, flags, mode, writes, cancellationToken);
    }

    /// <summary>
    /// Whether <paramref name="path"/> is the shared-memory index of a SQLite database in WAL mode
    /// ("DB-shm" beside a DB whose local copy starts with SQLite's header): WAL's readers and writers
    /// share it through mmap, and a mapping of a local copy cannot be the pod's memory, so the open
    /// is refused (EACCES) and SQLite fails with its own error ("unable to open database file")
    /// rather than corrupt the pod's database. Only the local copy is read: the program opens the
    /// database before its index.
    /// </summary>
    private bool IsSqliteSharedMemory(string path)
    {
        if (!path.EndsWith("-shm", StringComparison.Ordinal))
        {
            return false;
        }

        Span<byte> header = stackalloc byte[16];
        try
        {
            using var database = File.OpenHandle(files.LocalPath(path[..^4]));
            return RandomAccess.Read(database, header, 0) == 16 && header.SequenceEqual("SQLite format 3\0"u8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// The flags the local copy is opened with: the caller's, except that O_PATH becomes a
    /// read-only open (with O_DIRECTORY and O_NOFOLLOW kept). seccomp's ADDFD refuses O_PATH
    /// descriptors (the kernel's fget skips them: EBADF), and a read-only descriptor serves all an
    /// O_PATH one does (fchdir, *at calls, fstat) — coreutils' `mv FILE DIR` opens DIR with
    /// O_PATH|O_DIRECTORY and renames relative to it. Unlike O_PATH, O_NOFOLLOW on a symlink
    /// then fails with ELOOP.
    /// </summary>
    internal static int LocalFlags(int flags) =>
        (flags & OpenFlags.Path) == 0 ? flags : OpenFlags.ReadOnly | (flags & (OpenFlags.Directory | OpenFlags.NoFollow | OpenFlags.CloseOnExec));

    private async ValueTask<HandlerResult> OpenRemoteAsync(Notification n, string path, int flags, int mode, bool writes, CancellationToken cancellationToken)
    {
        await files.SettleAsync(path, cancellationToken).ConfigureAwait(false);
        var local = (flags & (OpenFlags.Create | OpenFlags.Truncate | OpenFlags.NoFollow | OpenFlags.Directory)) == 0
            ? await OpenExistingAsync(path, writes, cancellationToken).ConfigureAwait(false)
            : await OpenWithFlagsAsync(path, flags, writes, (mode, n.ThreadId), cancellationToken).ConfigureAwait(false);
        if (local.Errno != 0)
        {
            return n.Fail(local.Errno);
        }

        // An existing pod file the pod does not let the program write fails here, as Linux's open
        // does, not at the close that sends its content: one round trip per open for writing.
        if (writes && local.CreatedMode < 0 && await WritableErrnoAsync(path, cancellationToken).ConfigureAwait(false) is var refused and not 0)
        {
            return n.Fail(refused);
        }

        // Marked before the open: a listing of the directory running meanwhile must not take a
        // file created here for one that vanished remotely.
        if (writes)
        {
            files.MarkWritten(path, (flags & OpenFlags.Append) != 0, created: local.CreatedMode >= 0);
        }

        // A file just created in the pod may already have its placeholder from the listing of its
        // directory that followed the create: O_EXCL was the pod's, so not asked again of the copy.
        var localFlags = LocalFlags(flags) & ~OpenFlags.CloseOnExec & (local.CreatedMode >= 0 ? ~OpenFlags.Exclusive : ~0);
        using var file = FileCalls.Open(local.Path!, localFlags, mode, out var errno);
        if (file is null)
        {
            if (writes)
            {
                files.Unmark(path);
            }

            return n.Fail(errno);
        }

        if (local.CreatedMode >= 0)
        {
            // The pod file's mode, not one the supervisor's umask made: stat and fstat show it (set
            // after the open, which a mode without write permission would refuse).
            File.SetUnixFileMode(file, (UnixFileMode)local.CreatedMode);
        }

        logger.FileServed(path, local.Path!);
        if (writes)
        {
            // Our own copy of a written file is closed before the program runs on: its last close
            // is the program's, so its IN_CLOSE_WRITE comes in order with the program's calls.
            var injected = n.Inject(file, closeOnExec: (flags & OpenFlags.CloseOnExec) != 0);
            file.Dispose();
            return injected >= 0 ? n.Return(injected) : n.Fail(-injected);
        }

        var fd = n.InjectAndReturn(file, closeOnExec: (flags & OpenFlags.CloseOnExec) != 0);
        return fd >= 0 ? HandlerResult.Answered : n.Fail(-fd);
    }

    /// <summary>0, or the errno the pod refuses an open for writing of an existing file with; a file gone from the pod is written here and sent back.</summary>
    private async ValueTask<int> WritableErrnoAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            await remote.CheckWritableAsync(path, cancellationToken).ConfigureAwait(false);
            return 0;
        }
        catch (RemoteFileException e)
        {
            return e.Errno == Errno.ENOENT ? 0 : e.Errno;
        }
    }

    /// <summary>
    /// A plain open (no O_CREAT, O_TRUNC, O_NOFOLLOW, O_DIRECTORY) needs the content and nothing
    /// else: the fetch brings the file's stat along, so a cold open of a regular file is one round
    /// trip. Only a directory costs a second one (its listing).
    /// </summary>
    private async ValueTask<(string? Path, int Errno, int CreatedMode)> OpenExistingAsync(string path, bool writes, CancellationToken cancellationToken)
    {
        try
        {
            return (await files.FetchAsync(path, cancellationToken).ConfigureAwait(false), 0, -1);
        }
        catch (RemoteFileException e) when (e.Errno == Errno.EISDIR)
        {
            return writes ? (null, Errno.EISDIR, -1) : (await files.MaterializeDirectoryAsync(path, cancellationToken).ConfigureAwait(false), 0, -1);
        }
        catch (RemoteFileException e)
        {
            return (null, e.Errno, -1);
        }
    }

    /// <summary>
    /// Opens whose flags depend on what the path is: the remote stat first. <c>CreatedMode</c> is
    /// the mode a file created in the pod got (-1: none was created).
    /// </summary>
    private async ValueTask<(string? Path, int Errno, int CreatedMode)> OpenWithFlagsAsync(string path, int flags, bool writes, (int Mode, int ThreadId) create, CancellationToken cancellationToken)
    {
        RemoteEntry? entry;
        if ((flags & OpenFlags.Create) != 0)
        {
            // One round trip where the agent can: the create answers the parent's errno (ENOENT,
            // ENOTDIR, EACCES) and O_EXCL's EEXIST itself, or an existing path's stat.
            var mode = create.Mode & ~Umask(create.ThreadId) & 0xfff;
            RemoteCreate? made;
            try
            {
                made = await remote.CreateOrGetEntryAsync(path, mode, exclusive: (flags & OpenFlags.Exclusive) != 0, followSymlinks: (flags & OpenFlags.NoFollow) == 0, cancellationToken).ConfigureAwait(false);
            }
            catch (RemoteFileException e)
            {
                return (null, e.Errno, -1);
            }

            if (made is { Created: true })
            {
                await files.MaterializeDirectoryAsync(RemotePath.Parent(path), cancellationToken).ConfigureAwait(false);
                return (files.LocalPath(path), 0, mode);
            }

            entry = made is null
                ? await remote.GetEntryAsync(path, followSymlinks: (flags & OpenFlags.NoFollow) == 0, cancellationToken).ConfigureAwait(false)
                : made.Entry;
        }
        else
        {
            entry = await remote.GetEntryAsync(path, followSymlinks: (flags & OpenFlags.NoFollow) == 0, cancellationToken).ConfigureAwait(false);
        }

        if (entry is not null && writes)
        {
            _seen[path] = entry; // its owner, for fstat
        }

        string local;
        if (entry is null)
        {
            if ((flags & OpenFlags.Create) == 0)
            {
                return (null, Errno.ENOENT, -1);
            }

            var parent = await remote.GetEntryAsync(RemotePath.Parent(path), followSymlinks: true, cancellationToken).ConfigureAwait(false);
            if (parent?.Kind != RemoteEntryKind.Directory)
            {
                return (null, parent is null ? Errno.ENOENT : Errno.ENOTDIR, -1);
            }

            await files.MaterializeDirectoryAsync(RemotePath.Parent(path), cancellationToken).ConfigureAwait(false);
            var mode = create.Mode & ~Umask(create.ThreadId) & 0xfff;
            if (await CreateInPodAsync(path, flags, mode, cancellationToken).ConfigureAwait(false) is var created and not 0)
            {
                return (null, created, -1);
            }

            local = files.LocalPath(path);
            return (local, 0, mode);
        }
        else if ((flags & (OpenFlags.Create | OpenFlags.Exclusive)) == (OpenFlags.Create | OpenFlags.Exclusive))
        {
            return (null, Errno.EEXIST, -1);
        }
        else if (entry.Kind == RemoteEntryKind.Symlink)
        {
            return (null, Errno.ELOOP, -1); // O_NOFOLLOW on a symlink
        }
        else if (entry.Kind == RemoteEntryKind.Directory)
        {
            if (writes)
            {
                return (null, Errno.EISDIR, -1);
            }

            local = await files.MaterializeDirectoryAsync(path, cancellationToken).ConfigureAwait(false);
        }
        else if ((flags & OpenFlags.Directory) != 0)
        {
            return (null, Errno.ENOTDIR, -1);
        }
        else if ((flags & OpenFlags.Truncate) != 0 && writes)
        {
            files.EnsureNode(path, RemoteEntryKind.File);
            local = files.LocalPath(path);

            // The write-back carries the copy's mode: a fresh placeholder must not replace the remote one.
            File.SetUnixFileMode(local, (UnixFileMode)(entry.Mode & 0xfff));
        }
        else
        {
            local = await files.FetchAsync(path, cancellationToken).ConfigureAwait(false);
        }

        return (local, 0, -1);
    }

    private ValueTask<HandlerResult> StatAsync(Notification n, int dirfd, ulong pathAddress, ulong buffer, bool follow, bool statx, CancellationToken cancellationToken)
        => StatAsync(n, dirfd, n.ReadString(pathAddress), buffer, follow, statx, cancellationToken);

    private ValueTask<HandlerResult> StatAsync(Notification n, int dirfd, string? raw, ulong buffer, bool follow, bool statx, CancellationToken cancellationToken)
    {
        var (path, early) = Decide(n, dirfd, raw, FileIntent.Read);
        return path is null ? new(early!.Value) : StatRemoteAsync(n, path, buffer, follow, statx, cancellationToken);
    }

    private async ValueTask<HandlerResult> StatRemoteAsync(Notification n, string path, ulong buffer, bool follow, bool statx, CancellationToken cancellationToken)
    {
        var entry = await EntryAsync(path, follow, cancellationToken).ConfigureAwait(false);
        if (entry is null)
        {
            return n.Fail(Errno.ENOENT);
        }

        files.EnsureNode(path, entry.Kind); // listed directories and opens find their node
        Remember(path, entry);
        return Answer(n, buffer, entry, PodIdentity.Of(path, entry.Kind), statx);
    }

    /// <summary>Writes a stat or statx answer into the caller's buffer.</summary>
    private static HandlerResult Answer(Notification n, ulong buffer, RemoteEntry entry, (ulong Device, ulong Inode) identity, bool statx)
    {
        var bytes = new byte[statx ? StatLayout.StatxLength : StatLayout.StatLength];
        if (statx)
        {
            StatLayout.WriteStatx(bytes, entry, identity.Device, identity.Inode);
        }
        else
        {
            StatLayout.WriteStat(bytes, entry, identity.Device, identity.Inode);
        }

        if (!n.IsValid())
        {
            return n.Continue();
        }

        return n.Write(buffer, bytes) ? n.Return(0) : n.Fail(Errno.EFAULT);
    }

    private ValueTask<HandlerResult> AccessAsync(Notification n, int dirfd, ulong pathAddress, int mode, bool follow, CancellationToken cancellationToken)
    {
        var (path, early) = Decide(n, dirfd, pathAddress, (mode & AccessWrite) != 0 ? FileIntent.Write : FileIntent.Read);
        return path is null ? new(early!.Value) : AccessRemoteAsync(n, path, mode, follow, cancellationToken);
    }

    private async ValueTask<HandlerResult> AccessRemoteAsync(Notification n, string path, int mode, bool follow, CancellationToken cancellationToken)
    {
        var entry = await EntryAsync(path, follow, cancellationToken).ConfigureAwait(false);
        if (entry is null)
        {
            return n.Fail(Errno.ENOENT);
        }

        // Permission bits of any class: the remote side enforces the real ownership on access.
        var any = (entry.Mode >> 6 | entry.Mode >> 3 | entry.Mode) & 7;
        var denied = (mode & AccessExecute) != 0 && entry.Kind != RemoteEntryKind.Directory && (any & AccessExecute) == 0;
        return denied ? n.Fail(Errno.EACCES) : n.Return(0);
    }

    private ValueTask<HandlerResult> ReadlinkAsync(Notification n, int dirfd, ulong pathAddress, ulong buffer, ulong size, CancellationToken cancellationToken)
    {
        var (path, early) = Decide(n, dirfd, pathAddress, FileIntent.Read);
        return path is null ? new(early!.Value) : ReadlinkRemoteAsync(n, path, buffer, size, cancellationToken);
    }

    private async ValueTask<HandlerResult> ReadlinkRemoteAsync(Notification n, string path, ulong buffer, ulong size, CancellationToken cancellationToken)
    {
        if ((long)size <= 0)
        {
            return n.Fail(Errno.EINVAL);
        }

        await files.SettleAsync(path, cancellationToken).ConfigureAwait(false);
        var entry = await remote.GetEntryAsync(path, followSymlinks: false, cancellationToken).ConfigureAwait(false);
        if (entry is null)
        {
            return n.Fail(Errno.ENOENT);
        }

        if (entry.Kind != RemoteEntryKind.Symlink || entry.LinkTarget is null)
        {
            return n.Fail(Errno.EINVAL);
        }

        var target = Encoding.UTF8.GetBytes(entry.LinkTarget);
        var count = (int)Math.Min((ulong)target.Length, size); // readlink truncates silently, no NUL
        if (!n.IsValid())
        {
            return n.Continue();
        }

        return n.Write(buffer, target.AsSpan(0, count)) ? n.Return(count) : n.Fail(Errno.EFAULT);
    }

    private ValueTask<HandlerResult> XattrAsync(Notification n, bool follow, CancellationToken cancellationToken)
    {
        var (path, early) = Decide(n, OpenFlags.AtFdCwd, n.Arg(0), FileIntent.Read);
        return path is null ? new(early!.Value) : XattrRemoteAsync(n, path, follow, cancellationToken);
    }

    private async ValueTask<HandlerResult> XattrRemoteAsync(Notification n, string path, bool follow, CancellationToken cancellationToken)
    {
        // Remote extended attributes are not carried: every remote entry has none.
        await files.SettleAsync(path, cancellationToken).ConfigureAwait(false);
        var entry = await remote.GetEntryAsync(path, follow, cancellationToken).ConfigureAwait(false);
        if (entry is null)
        {
            return n.Fail(Errno.ENOENT);
        }

        var lists = n.Nr is SyscallNumber.ListXattr or SyscallNumber.LListXattr;
        return lists ? n.Return(0) : n.Fail(Errno.ENODATA);
    }
}
