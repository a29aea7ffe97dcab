using Doppel.Interception.Files;
using Doppel.Interception.Remote;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Doppel.Session.Files;

/// <summary>
/// The session's file sync, behind the interception engine's <see cref="IFileSync"/>: the cache
/// tree (<see cref="CacheTree"/>), regular files' content (<see cref="FileContents"/>), directory
/// listings (<see cref="DirectoryListings"/>) and the write-back of written files
/// (<see cref="WriteBacks"/>), all through an <see cref="IRemote"/>.
/// </summary>
public sealed class FileSync : IFileSync, IAsyncDisposable
{
    private readonly CancellationTokenSource _lifetime = new();
    private readonly CacheTree _tree;
    private readonly FileContents _contents;
    private readonly DirectoryListings _listings;
    private readonly WriteBacks _writeBacks;
    private readonly IRemote _remote;

    // Paths the program has locked in the pod, with the pod's (size, mtime) that the local copy last
    // matched (the last refresh or send; a download keeps its own in _contents): a lock refreshes a
    // copy the pod changed.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (long Size, DateTimeOffset Mtime)> _lockPoints = new(StringComparer.Ordinal);

    /// <param name="remote">The remote side (the agent) the files come from and go back to.</param>
    /// <param name="report">
    /// Where a failed write-back is told to the user: one sentence per file naming it and saying what
    /// to do (doppel's stderr). Called at most once per file until a write-back of it succeeds.
    /// </param>
    /// <param name="root">The cache tree's directory; null makes a private one under the temp directory, deleted on dispose.</param>
    /// <param name="time">The clock that ages directory listings; null is the system's.</param>
    /// <param name="logger">Where a write-back task's unexpected failure is logged; null logs nothing.</param>
    /// <param name="recovered">
    /// Where a file told as failed (<paramref name="report"/>) that later reached the remote is told
    /// to the user: "FILE reached the pod after all." (name escaped); null says nothing.
    /// </param>
    /// <param name="finalFlushStarting">
    /// Called when the final flush (<see cref="FlushAsync(CancellationToken)"/>) has files to send, with
    /// their count, before it sends them (the CLI says so and how to skip it); null says nothing.
    /// </param>
    public FileSync(IRemote remote, Action<string> report, string? root = null, TimeProvider? time = null, ILogger? logger = null, Action<int>? finalFlushStarting = null, Action<string>? recovered = null)
    {
        ArgumentNullException.ThrowIfNull(remote);
        ArgumentNullException.ThrowIfNull(report);
        _remote = remote;
        _tree = new CacheTree(root);
        _contents = new FileContents(remote, _tree, _lifetime.Token);
        _writeBacks = new WriteBacks(remote, _tree, report, recovered ?? (_ => { }), finalFlushStarting ?? (_ => { }), BackToCache, logger ?? NullLogger.Instance, Sent, _lockPoints.ContainsKey);
        _listings = new DirectoryListings(remote, _tree, _writeBacks.IsWritten, Forget, time ?? TimeProvider.System);
    }

    /// <summary>The cache tree's directory.</summary>
    public string Root => _tree.Root;

    /// <summary>
    /// Remote paths (sorted) whose latest content did not reach the remote: their last write-back
    /// failed, or the final flush was skipped, and the user was told. Read after the final flush to decide the exit code.
    /// </summary>
    public IReadOnlyCollection<string> UnsentFiles => _writeBacks.Unsent;

    /// <inheritdoc/>
    public string LocalPath(string remotePath) => _tree.LocalPath(remotePath);

    /// <inheritdoc/>
    public string? RemotePathOf(string localPath) => _tree.RemotePathOf(localPath);

    /// <inheritdoc/>
    public (ulong Device, ulong Inode)? EnsureNode(string remotePath, RemoteEntryKind kind) => _tree.EnsureNode(remotePath, kind);

    /// <inheritdoc/>
    public ValueTask<string> FetchAsync(string remotePath, CancellationToken cancellationToken) =>
        _writeBacks.IsWritten(remotePath)
            ? new(_tree.LocalPath(remotePath)) // written here and not sent back yet: the local copy is the truth
            : _contents.FetchAsync(remotePath, cancellationToken);

    /// <inheritdoc/>
    public RemoteEntry? FetchedEntry(string remotePath) => _contents.EntryOf(remotePath);

    /// <inheritdoc/>
    public ValueTask<string> MaterializeDirectoryAsync(string remotePath, CancellationToken cancellationToken) =>
        _listings.MaterializeAsync(remotePath, cancellationToken);

    /// <inheritdoc/>
    public void MarkWritten(string remotePath, bool append = false, bool created = false)
    {
        // A copy fetched and unchanged since (its size and mtime are the pod's stat it came with) is the pod's content.
        var fetched = _contents.EntryOf(remotePath);
        // One fetched while the pod changed it is still content the pod had: what a write-back compares with.
        var copyIsRemote = fetched is not null && CopyStamp(remotePath) == (fetched.Size, fetched.LastWriteTime);
        _writeBacks.MarkWritten(remotePath, copyIsRemote, append, copyWasFetched: fetched is not null, remoteEntry: fetched, created: created);
    }

    /// <inheritdoc/>
    public bool IsWritten(string remotePath) => _writeBacks.IsWritten(remotePath);

    /// <inheritdoc/>
    public bool HasWrittenFiles => _writeBacks.HasWrittenFiles;

    /// <inheritdoc/>
    public Task PushAsync(string remotePath, CancellationToken cancellationToken) => _writeBacks.PushAsync(remotePath, cancellationToken);

    /// <inheritdoc/>
    public void Unmark(string remotePath) => _writeBacks.Unmark(remotePath);

    /// <inheritdoc/>
    public ValueTask SettleAsync(string remotePath, CancellationToken cancellationToken) => _writeBacks.SettleAsync(remotePath, cancellationToken);

    /// <inheritdoc/>
    public Task FlushAsync(string remotePath, CancellationToken cancellationToken) => _writeBacks.FlushAsync(remotePath, cancellationToken);

    /// <inheritdoc/>
    public Task FlushAsync(CancellationToken cancellationToken) => _writeBacks.FlushAllAsync(cancellationToken);

    /// <inheritdoc/>
    public Task RenameAsync(string from, string to, Func<CancellationToken, Task> renameRemotely, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(renameRemotely);
        return _writeBacks.RenameAsync(from, to, () => renameRemotely(cancellationToken), () => MoveLocally(from, to), cancellationToken);
    }

    /// <inheritdoc/>
    public Task ExchangeAsync(string first, string second, Func<CancellationToken, Task> exchangeRemotely, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(exchangeRemotely);
        return _writeBacks.ExchangeAsync(first, second, () => exchangeRemotely(cancellationToken), () => ExchangeLocally(first, second), cancellationToken);
    }

    /// <inheritdoc/>
    public Task LinkAsync(string from, string to, Func<CancellationToken, Task> linkRemotely, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(linkRemotely);
        return _writeBacks.LinkAsync(from, () => linkRemotely(cancellationToken), () => Forget(to), cancellationToken);
    }

    /// <inheritdoc/>
    public Task DeleteAsync(string remotePath, bool directory, Func<CancellationToken, Task> deleteRemotely, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deleteRemotely);
        return _writeBacks.DeleteAsync(remotePath, directory, () => deleteRemotely(cancellationToken), () => Forget(remotePath), cancellationToken);
    }

    /// <inheritdoc/>
    public void LockRequested(string remotePath) => _lockPoints.TryAdd(remotePath, (-1, default));

    /// <inheritdoc/>
    /// <remarks>
    /// The pod's (size, mtime) is compared with the copy's, and the copy's with the points where the
    /// copy last matched the pod (the download, the last refresh, the last send of any kind: the copy's
    /// mtime is set to the pod's at a download or refresh, the pod's to the copy's at a send):
    /// <code>
    ///   pod = copy ─────────────────────────────────► in step (remembered)
    ///   copy = a match point, pod moved on ─────────► the pod's content read into the copy in place
    ///   copy at no match point (unsent writes) ─────► the copy stays the truth; its writes go at the unlock
    /// </code>
    /// Every sync point counts: a copy downloaded again at an open, or sent at a close (flock(1)'s
    /// command writes and closes, and the lock goes with flock's own fd), after the last lock is the
    /// pod's content too (issue P9: the last lock's point alone took such a copy for unsent writes,
    /// and a pod change of the same size was never read).
    /// </remarks>
    public Task RefreshAtLockAsync(string remotePath, CancellationToken cancellationToken) =>
        RefreshAtLockAsync(remotePath, null, cancellationToken);

    /// <inheritdoc/>
    public async Task RefreshAtLockAsync(string remotePath, RemoteEntry? pod, CancellationToken cancellationToken)
    {
        var local = _tree.LocalPath(remotePath);
        pod ??= await _remote.GetEntryAsync(remotePath, followSymlinks: true, cancellationToken).ConfigureAwait(false);
        if (pod is null || pod.Kind != RemoteEntryKind.File || CopyStamp(remotePath) is not { } copy)
        {
            _lockPoints.TryAdd(remotePath, (-1, default));
            return;
        }

        var now = (pod.Size, pod.LastWriteTime);
        if (now == copy)
        {
            _lockPoints[remotePath] = now;
            return;
        }

        (long, DateTimeOffset)? sent = _lockPoints.TryGetValue(remotePath, out var known) && known.Size >= 0 ? known : null;
        (long, DateTimeOffset)? fetched = _contents.EntryOf(remotePath) is { } entryOfCopy ? (entryOfCopy.Size, entryOfCopy.LastWriteTime) : null;
        var copyIsAMatch = copy == sent || copy == fetched
            || (sent is null && fetched is null && !_writeBacks.IsWritten(remotePath)); // a copy of unknown origin, not written here
        if (!copyIsAMatch)
        {
            return; // the copy's writes (not sent yet) are the truth: they go at the unlock
        }

        // Read beside first: a read that fails midway leaves the copy as it was.
        var partial = $"{local}.doppel-{Guid.NewGuid():N}";
        RemoteEntry entry;
        try
        {
            var download = new FileStream(partial, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 64 * 1024, useAsync: true);
            await using (download.ConfigureAwait(false))
            {
                entry = await _remote.ReadFileAsync(remotePath, download, cancellationToken).ConfigureAwait(false);
                download.Position = 0;
                _writeBacks.ExpectOwnClose(remotePath);
                var file = new FileStream(local, new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Write, Share = FileShare.ReadWrite | FileShare.Delete });
                await using (file.ConfigureAwait(false))
                {
                    await download.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
                    file.SetLength(file.Position); // ftruncate: the same inode, so the program's open fds read the pod's bytes
                }
            }
        }
        finally
        {
            File.Delete(partial);
        }

        File.SetLastWriteTimeUtc(local, entry.LastWriteTime.UtcDateTime);
        _contents.Adopt(remotePath, entry);
        _writeBacks.Adopt(remotePath);
        _lockPoints[remotePath] = (entry.Size, entry.LastWriteTime);
    }

    /// <inheritdoc/>
    public async Task PushBeforeUnlockAsync(string remotePath, CancellationToken cancellationToken)
    {
        if (!_writeBacks.IsWritten(remotePath))
        {
            return;
        }

        // Sent with the copy's mtime: the send records the new match point itself (Sent).
        await _writeBacks.PushAsync(remotePath, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A written path went back to the cache's rules: its copy stays cached on the pod's stat when
    /// the pod's file is known to hold exactly it (<paramref name="pod"/>: the next open costs a stat,
    /// not a download), else it is fetched again at the next open.
    /// </summary>
    private void BackToCache(string remotePath, RemoteEntry? pod)
    {
        if (pod is not null && CopyStamp(remotePath) is { } copy && copy.Size == pod.Size)
        {
            try
            {
                // The pod's clock stamped the write: the copy takes its mtime, which the next open compares.
                File.SetLastWriteTimeUtc(_tree.LocalPath(remotePath), pod.LastWriteTime.UtcDateTime);
                _contents.Adopt(remotePath, pod with { LastWriteTime = new DateTimeOffset(File.GetLastWriteTimeUtc(_tree.LocalPath(remotePath))) });
                return;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Fetched again at the next open.
            }
        }

        _contents.Forget(remotePath);
    }

    /// <summary>A send reached the pod with the copy's (size, mtime): for a locked path, the new point where the copy matches the pod.</summary>
    private void Sent(string remotePath, (long Size, DateTimeOffset Mtime) stamp)
    {
        if (_lockPoints.ContainsKey(remotePath))
        {
            _lockPoints[remotePath] = stamp;
        }
    }

    /// <summary>The local copy's (size, mtime), what the lock points compare with the pod's stat; null when there is no copy.</summary>
    private (long Size, DateTimeOffset Mtime)? CopyStamp(string remotePath)
    {
        var info = new FileInfo(_tree.LocalPath(remotePath));
        return info.Exists ? (info.Length, new DateTimeOffset(info.LastWriteTimeUtc)) : null;
    }

    /// <inheritdoc/>
    public void ApplyAttributes(string remotePath, RemoteAttributes attributes)
    {
        ArgumentNullException.ThrowIfNull(attributes);

        // Directories keep theirs: the supervisor must stay able to enter them.
        var local = _tree.LocalPath(remotePath);
        if (!File.Exists(local))
        {
            return;
        }

        if (attributes.Mode is { } mode)
        {
            File.SetUnixFileMode(local, (UnixFileMode)mode);
        }

        if (attributes.LastWriteTime is { } write)
        {
            File.SetLastWriteTimeUtc(local, write.UtcDateTime);
        }

        if (attributes.LastAccessTime is { } access)
        {
            File.SetLastAccessTimeUtc(local, access.UtcDateTime);
        }
    }

    /// <inheritdoc/>
    public void Forget(string remotePath)
    {
        _writeBacks.Forget(remotePath);
        _contents.Forget(remotePath);
        _listings.Forget(remotePath);
        _listings.Forget(RemotePath.Parent(remotePath)); // listed again on the next open
        _tree.Remove(remotePath);
    }

    /// <summary>
    /// Stops the write-back watcher, ends the write-backs and downloads under way (awaiting them) and
    /// deletes a private cache tree (call after the final flush).
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        await _lifetime.CancelAsync().ConfigureAwait(false);
        await _writeBacks.DisposeAsync().ConfigureAwait(false);
        _tree.Dispose();
        _lifetime.Dispose();
    }

    /// <summary>
    /// After an exchange in the pod: the local nodes swap too (through a third name), so an fd open
    /// on either keeps writing into the copy that goes back under its new name; a node only one side
    /// has moves; both names are fetched and listed again on their next use.
    /// </summary>
    private void ExchangeLocally(string first, string second)
    {
        var aside = first + ".doppel-exchange";
        MoveLocally(first, aside);
        MoveLocally(second, first);
        MoveLocally(aside, second);
    }

    /// <summary>
    /// After a rename in the pod: the local node moves too (what was at <paramref name="to"/> is
    /// replaced), so a program's open fd on it keeps writing into the copy that goes back under the
    /// new name; both names are fetched and listed again on their next use.
    /// </summary>
    private void MoveLocally(string from, string to)
    {
        var fromLocal = _tree.LocalPath(from);
        var toLocal = _tree.LocalPath(to);
        _tree.Remove(to);
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(toLocal)!);
            if (Directory.Exists(fromLocal))
            {
                Directory.Move(fromLocal, toLocal);
            }
            else if (File.Exists(fromLocal))
            {
                File.Move(fromLocal, toLocal);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _tree.Remove(from); // fetched again under its new name
        }

        foreach (var path in new[] { from, to })
        {
            _contents.Forget(path);
            _listings.Forget(path);
            _listings.Forget(RemotePath.Parent(path)); // listed again on the next open
        }
    }
}
