using Doppel.Interception.Files;
using Doppel.Interception.Remote;

namespace Doppel.Session.Files;

/// <summary>
/// The session's file sync, behind the interception engine's <see cref="IFileSync"/>: the cache
/// tree (<see cref="CacheTree"/>), regular files' content (<see cref="FileContents"/>), directory
/// listings (<see cref="DirectoryListings"/>) and the write-back of written files
/// (<see cref="WriteBacks"/>), all through an <see cref="IRemote"/>.
/// </summary>
public sealed class FileSync : IFileSync, IDisposable
{
    private readonly CacheTree _tree;
    private readonly FileContents _contents;
    private readonly DirectoryListings _listings;
    private readonly WriteBacks _writeBacks;

    /// <param name="remote">The remote side (the agent) the files come from and go back to.</param>
    /// <param name="report">
    /// Where a failed write-back is told to the user: one sentence per file naming it and saying what
    /// to do (doppel's stderr). Called at most once per file until a write-back of it succeeds.
    /// </param>
    /// <param name="root">The cache tree's directory; null makes a private one under the temp directory, deleted on dispose.</param>
    /// <param name="time">The clock that ages directory listings; null is the system's.</param>
    public FileSync(IRemote remote, Action<string> report, string? root = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(remote);
        ArgumentNullException.ThrowIfNull(report);
        _tree = new CacheTree(root);
        _contents = new FileContents(remote, _tree);
        _writeBacks = new WriteBacks(remote, _tree, report);
        _listings = new DirectoryListings(remote, _tree, _writeBacks.IsWritten, Forget, time ?? TimeProvider.System);
    }

    /// <summary>The cache tree's directory.</summary>
    public string Root => _tree.Root;

    /// <summary>
    /// Remote paths (sorted) whose latest content did not reach the remote: their last write-back
    /// failed and the user was told. Read after the final flush to decide the exit code.
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
    public ValueTask<string> MaterializeDirectoryAsync(string remotePath, CancellationToken cancellationToken) =>
        _listings.MaterializeAsync(remotePath, cancellationToken);

    /// <inheritdoc/>
    public void MarkWritten(string remotePath) => _writeBacks.MarkWritten(remotePath);

    /// <inheritdoc/>
    public void Unmark(string remotePath) => _writeBacks.Unmark(remotePath);

    /// <inheritdoc/>
    public ValueTask SettleAsync(string remotePath, CancellationToken cancellationToken) => _writeBacks.SettleAsync(remotePath, cancellationToken);

    /// <inheritdoc/>
    public Task FlushAsync(string remotePath, CancellationToken cancellationToken) => _writeBacks.FlushAsync(remotePath, cancellationToken);

    /// <inheritdoc/>
    public Task FlushAsync(CancellationToken cancellationToken) => _writeBacks.FlushAllAsync(cancellationToken);

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

    /// <summary>Stops the write-back watcher and deletes a private cache tree (call after the final flush).</summary>
    public void Dispose()
    {
        _writeBacks.Dispose();
        _tree.Dispose();
    }
}
