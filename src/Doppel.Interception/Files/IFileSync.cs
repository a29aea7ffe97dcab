using Doppel.Interception.Remote;

namespace Doppel.Interception.Files;

/// <summary>
/// What the file handler needs from the session's file sync: a local tree that mirrors remote
/// paths (remote <c>/a/b</c> at <c>ROOT/a/b</c>), filled on demand, and the write-back of files
/// the program wrote. Interception decodes calls and injects fds opened in that tree; fetching,
/// listing and sending back are the implementation's (<c>Doppel.Session.Files.FileSync</c>).
/// <code>
///   FileHandler ──open──► FetchAsync / MaterializeDirectoryAsync ──► local path ──► open + ADDFD
///               ──open for writing──► MarkWritten ... close ──► write-back ──► remote
///   program exit ──► FlushAsync(ct) (final flush)
/// </code>
/// Remote failures the program should see come as <see cref="RemoteFileException"/>.
/// </summary>
public interface IFileSync
{
    /// <summary>Where a remote path lives in the local tree.</summary>
    string LocalPath(string remotePath);

    /// <summary>The remote path a local path inside the tree stands for; null outside the tree.</summary>
    string? RemotePathOf(string localPath);

    /// <summary>
    /// Makes sure a node of the right kind exists (an empty placeholder if new) and returns its local
    /// (st_dev, st_ino); null when it cannot be made. Stat answers do not use it: a node is replaced
    /// whenever content is fetched, so they answer <c>PodIdentity</c> instead.
    /// </summary>
    (ulong Device, ulong Inode)? EnsureNode(string remotePath, RemoteEntryKind kind);

    /// <summary>
    /// Fetches a regular file's content (symlinks followed) into the tree and returns its local
    /// path. A file with no cached content costs one remote round trip (the content and its
    /// stat come together); cached content is reused while the remote stat still matches the
    /// one it came with. A file written here and not yet sent back is its local copy.
    /// Throws <see cref="RemoteFileException"/> with ENOENT when the path does not exist and with
    /// EISDIR when it is a directory.
    /// </summary>
    ValueTask<string> FetchAsync(string remotePath, CancellationToken cancellationToken);

    /// <summary>
    /// The remote stat that the local copy's current content came with (<see cref="FetchAsync"/>:
    /// the remote's fstat of the very bytes it read); null when the path has no fetched copy. What
    /// fstat of an fd on that copy answers, without a round trip.
    /// </summary>
    RemoteEntry? FetchedEntry(string remotePath);

    /// <summary>
    /// Lists a remote directory into the tree (again once the last listing has grown old, so
    /// remote changes show up) and returns its local path.
    /// </summary>
    ValueTask<string> MaterializeDirectoryAsync(string remotePath, CancellationToken cancellationToken);

    /// <summary>
    /// Records a file about to be opened for writing: the local copy becomes the truth, and its
    /// content goes back when a writer closes it and at the final flush. <paramref name="append"/>:
    /// the open had O_APPEND, so bytes the program only adds go at the pod file's end as it is then
    /// (what pod processes appended meanwhile stays). <paramref name="created"/>: the pod just made the
    /// file, empty, for this open, so the program's bytes are compared with no bytes (appended too).
    /// </summary>
    void MarkWritten(string remotePath, bool append = false, bool created = false);

    /// <summary>
    /// Whether <paramref name="remotePath"/> was opened for writing here and its local copy is the
    /// truth (its content not sent yet, or a writer still has it open).
    /// </summary>
    bool IsWritten(string remotePath);

    /// <summary>Whether any path is <see cref="IsWritten"/>: while none is, close and fsync need no look.</summary>
    bool HasWrittenFiles { get; }

    /// <summary>
    /// Write-through at close/fsync/fdatasync: sends a written file's local copy to the remote now
    /// unless exactly that content (size, modification and change time) was sent last. A failure is
    /// reported to the user (one sentence naming the file, once until a send succeeds), the file
    /// stays queued for the final flush, and it throws <see cref="IOException"/>
    /// (<see cref="RemoteFileException"/>) for the program's EIO.
    /// </summary>
    Task PushAsync(string remotePath, CancellationToken cancellationToken);

    /// <summary>Undoes <see cref="MarkWritten"/> after the open for writing failed.</summary>
    void Unmark(string remotePath);

    /// <summary>
    /// Close-to-open for the program's own view: before the remote is asked about a path again,
    /// a written copy closed since it was last sent goes back and a write-back under way ends.
    /// A failed write-back is reported to the user, not to this call.
    /// </summary>
    ValueTask SettleAsync(string remotePath, CancellationToken cancellationToken);

    /// <summary>
    /// Sends one written file back now if it changed since it was last sent (before a rename or
    /// an attribute change); throws <see cref="RemoteFileException"/> when that fails.
    /// </summary>
    Task FlushAsync(string remotePath, CancellationToken cancellationToken);

    /// <summary>
    /// The final flush, after the program exited: sends every written file back. Failures are
    /// reported to the user (one sentence per file) and do not throw. Cancelling
    /// <paramref name="cancellationToken"/> (Ctrl+C at exit) stops it at once: each file not sent
    /// is reported and counted as unsent.
    /// </summary>
    Task FlushAsync(CancellationToken cancellationToken);

    /// <summary>
    /// A rename of a remote path: a written file's latest content is sent first (a failure throws
    /// <see cref="RemoteFileException"/> and nothing is renamed), then <paramref name="renameRemotely"/>
    /// renames it remotely, then the local copy and its pending write-back move to
    /// <paramref name="to"/>, so the program's writes through an fd opened before the rename reach
    /// the remote under the new name.
    /// </summary>
    Task RenameAsync(string from, string to, Func<CancellationToken, Task> renameRemotely, CancellationToken cancellationToken);

    /// <summary>
    /// A rename with RENAME_EXCHANGE: both files' latest content is sent first, then
    /// <paramref name="exchangeRemotely"/> swaps them remotely, then the local copies and their
    /// pending write-backs swap too (an fd open on either follows its file). Throws
    /// <see cref="RemoteFileException"/> with the remote's errno (nothing swapped).
    /// </summary>
    Task ExchangeAsync(string first, string second, Func<CancellationToken, Task> exchangeRemotely, CancellationToken cancellationToken);

    /// <summary>
    /// A hard link of a remote path (link/linkat): a written file's latest content is sent first (a
    /// failure throws <see cref="RemoteFileException"/> and nothing is linked), then
    /// <paramref name="linkRemotely"/> makes <paramref name="to"/> in the remote, with no write-back
    /// of <paramref name="from"/> in between (one that replaced the remote file by a new one would
    /// part the two names), then what the tree knew of <paramref name="to"/> is dropped
    /// (<see cref="Forget"/>), so its next open reads the linked file. Later sends of
    /// <paramref name="from"/> go into the remote file itself (it has two names), so the new name
    /// sees them at the same points: close-to-open for both names.
    /// </summary>
    Task LinkAsync(string from, string to, Func<CancellationToken, Task> linkRemotely, CancellationToken cancellationToken);

    /// <summary>
    /// An unlink or rmdir of a remote path: a write-back of it (or, for a directory, of a file under
    /// it) under way ends first, then <paramref name="deleteRemotely"/> deletes it remotely, and what
    /// the tree knows of it is dropped (<see cref="Forget"/>) with its pending write-back, so a
    /// deleted file never comes back. A file not deleted remotely keeps going back. A file written
    /// here that has not reached the remote yet is deleted here alone: ENOENT from the remote is
    /// success. Throws <see cref="RemoteFileException"/> with the remote's errno otherwise.
    /// </summary>
    Task DeleteAsync(string remotePath, bool directory, Func<CancellationToken, Task> deleteRemotely, CancellationToken cancellationToken);

    /// <summary>
    /// Mirrors a chmod/utimensat applied remotely onto the local copy, so a later write-back
    /// (which carries the copy's mode and time) does not undo it.
    /// </summary>
    void ApplyAttributes(string remotePath, RemoteAttributes attributes);

    /// <summary>
    /// A lock on the remote file is asked for: from now on the path is a lock point, compared with
    /// the remote file at every lock (<see cref="RefreshAtLockAsync(string, CancellationToken)"/>).
    /// (Every write-back goes into the remote file itself, so the pod's locks stay on its inode.)
    /// </summary>
    void LockRequested(string remotePath);

    /// <summary>
    /// A lock on the remote file was just granted (NFS's consistency at lock points): when the remote
    /// file changed since the local copy last matched it and the copy holds no unsent writes, the
    /// remote content is read into the local copy in place (same inode: the program's open fds see
    /// it). Write-backs write into the remote file itself (<see cref="IRemote.WriteChangesAsync"/>),
    /// so the locks and the pod processes' open fds stay on its inode. A failure is left for the next lock point.
    /// </summary>
    Task RefreshAtLockAsync(string remotePath, CancellationToken cancellationToken);

    /// <summary>
    /// <see cref="RefreshAtLockAsync(string, CancellationToken)"/> with the remote file's stat already
    /// known (<paramref name="pod"/>: the lock's answer carried it), so no stat call is made; null
    /// asks the remote side as the other overload does. The default ignores <paramref name="pod"/>.
    /// </summary>
    Task RefreshAtLockAsync(string remotePath, RemoteEntry? pod, CancellationToken cancellationToken)
        => RefreshAtLockAsync(remotePath, cancellationToken);

    /// <summary>
    /// A lock on the remote file is about to be released: the file's unsent writes go first, as at
    /// fsync. Throws <see cref="IOException"/> (<see cref="RemoteFileException"/>) when the send fails
    /// (reported to the user like every failed write-back).
    /// </summary>
    Task PushBeforeUnlockAsync(string remotePath, CancellationToken cancellationToken);

    /// <summary>
    /// Drops what the tree knows about a path removed remotely; its directory
    /// is listed again on its next open.
    /// </summary>
    void Forget(string remotePath);
}
