using System.Collections.Concurrent;
using System.Diagnostics;
using Doppel.Interception.Remote;
using Doppel.Linux.Files;
using Doppel.Linux.Processes;

namespace Doppel.Interception.Files;

/// <summary>
/// The per-session cache tree: remote path <c>/a/b</c> lives at <c>ROOT/a/b</c>. Directories are
/// materialised with one placeholder per entry, so getdents on an injected directory fd works
/// natively; files get their content on first open. Symlinks are followed on the remote side,
/// so the tree holds the followed view (lstat and readlink are answered from the remote).
/// </summary>
internal sealed class RemoteFileCache : IDisposable
{
    private readonly IRemote _remote;
    private readonly bool _ownsRoot;
    // A listing is reused this long; an open after that lists the directory again.
    private static readonly TimeSpan s_listingLifetime = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<string, (Lazy<Task> Listing, long Timestamp)> _listed = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Path, long Size, DateTimeOffset Time), Lazy<Task>> _fetched = new();
    // Remote paths opened for writing: the local copy is the truth until sent back.
    private readonly ConcurrentDictionary<string, byte> _written = new(StringComparer.Ordinal);

    // Written paths whose content changed since it was last sent back.
    private readonly ConcurrentDictionary<string, byte> _dirty = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<int, string> _watchedDirectories = new();
    private readonly SemaphoreSlim _flushing = new(1, 1);
    private readonly Lock _events = new();
    private readonly Lazy<Inotify> _inotify;
    private readonly CancellationTokenSource _stopping = new();
    private Thread? _watcher;

    public RemoteFileCache(IRemote remote, string? root)
    {
        _remote = remote;
        _ownsRoot = root is null;
        Root = RemotePath.Normalize(Path.GetFullPath(root ?? Path.Combine(Path.GetTempPath(), $"doppel-cache-{Environment.ProcessId}-{Guid.NewGuid():N}")));
        // Remote files may be secrets: the tree is the user's alone.
        Directory.CreateDirectory(Root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.SetUnixFileMode(Root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        // Most sessions never write: the watcher starts with the first file opened for writing.
        _inotify = new Lazy<Inotify>(() =>
        {
            var inotify = new Inotify();
            _watcher = new Thread(WatchLoop) { IsBackground = true, Name = "doppel-cache-watch" };
            _watcher.Start();
            return inotify;
        });
    }

    public string Root { get; }

    public string LocalPath(string remotePath) => remotePath == "/" ? Root : Root + remotePath;

    /// <summary>The remote path a local path inside the tree stands for; null outside the tree.</summary>
    public string? RemotePathOf(string localPath)
    {
        if (localPath == Root)
        {
            return "/";
        }

        return localPath.StartsWith(Root, StringComparison.Ordinal) && localPath.Length > Root.Length && localPath[Root.Length] == '/'
            ? localPath[Root.Length..]
            : null;
    }

    /// <summary>
    /// Makes sure a node of the right kind exists (a placeholder if new) and returns its
    /// (st_dev, st_ino): stat answers use them so they agree with fstat on injected fds.
    /// </summary>
    public (ulong Device, ulong Inode)? EnsureNode(string remotePath, RemoteEntryKind kind)
    {
        var local = LocalPath(remotePath);
        try
        {
            EnsurePlaceholder(local, kind);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }

        return FileCalls.GetIdentity(local);
    }

    /// <summary>
    /// Lists a remote directory into the tree (again when the last listing is older than a
    /// couple of seconds, so remote changes show up); returns its local path.
    /// </summary>
    public async ValueTask<string> MaterializeDirectoryAsync(string remotePath, CancellationToken cancellationToken)
    {
        var local = LocalPath(remotePath);
        var listing = _listed.AddOrUpdate(
            remotePath,
            p => (new Lazy<Task>(() => ListAsync(p, cancellationToken)), Stopwatch.GetTimestamp()),
            (p, current) => Stopwatch.GetElapsedTime(current.Timestamp) < s_listingLifetime
                ? current
                : (new Lazy<Task>(() => ListAsync(p, cancellationToken)), Stopwatch.GetTimestamp()));
        try
        {
            await listing.Listing.Value.ConfigureAwait(false);
        }
        catch
        {
            _listed.TryRemove(remotePath, out _);
            throw;
        }

        return local;
    }

    /// <summary>Fetches a remote file's content into the tree (once per size and mtime); returns its local path.</summary>
    public async ValueTask<string> FetchFileAsync(string remotePath, RemoteEntry entry, CancellationToken cancellationToken)
    {
        if (_written.ContainsKey(remotePath))
        {
            return LocalPath(remotePath); // written here and not sent back yet: the local copy is the truth
        }

        var key = (remotePath, entry.Size, entry.LastWriteTime);
        var fetch = _fetched.GetOrAdd(key, k => new Lazy<Task>(() => DownloadAsync(k.Path, entry, cancellationToken)));
        try
        {
            await fetch.Value.ConfigureAwait(false);
        }
        catch
        {
            _fetched.TryRemove(key, out _);
            throw;
        }

        return LocalPath(remotePath);
    }

    /// <summary>
    /// Records a file opened for writing: its content goes back when a writer closes it
    /// (inotify IN_CLOSE_WRITE on its directory) and on <see cref="FlushAsync(CancellationToken)"/>.
    /// </summary>
    public void MarkDirty(string remotePath)
    {
        _written[remotePath] = 0;
        _dirty[remotePath] = 0;
        var directory = Path.GetDirectoryName(LocalPath(remotePath))!;
        var watch = _inotify.Value.AddWatch(directory, Inotify.CloseWrite);
        if (watch >= 0)
        {
            _watchedDirectories[watch] = directory;
        }
    }

    /// <summary>Undoes <see cref="MarkDirty"/> after an open for writing failed.</summary>
    public void Unmark(string remotePath)
    {
        _written.TryRemove(remotePath, out _);
        _dirty.TryRemove(remotePath, out _);
    }

    /// <summary>Sends every written file back to the remote (before doppel exits).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        // Closes that happened just before the exit: marked under the same lock the watcher
        // marks under, so none is read by the watcher and left unmarked.
        DrainEvents();

        // Wait for a write-back the watcher has under way (it holds the flush lock while sending).
        await _flushing.WaitAsync(cancellationToken).ConfigureAwait(false);
        _flushing.Release();
        foreach (var path in _dirty.Keys)
        {
            await FlushAsync(path, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Close-to-open for the program's own view: a written file that was closed since it was last
    /// sent goes back, and a write-back under way ends, before the remote is asked about the path
    /// again (touch sets a time with futimens and exits; the stat that follows in the next process
    /// must see it, not race the write-back that the close started).
    /// </summary>
    public async ValueTask SettleAsync(string remotePath, CancellationToken cancellationToken)
    {
        if (!_written.ContainsKey(remotePath))
        {
            return;
        }

        DrainEvents();
        if (_dirty.ContainsKey(remotePath))
        {
            await FlushAsync(remotePath, cancellationToken).ConfigureAwait(false);
            return;
        }

        await _flushing.WaitAsync(cancellationToken).ConfigureAwait(false);
        _flushing.Release();
    }

    /// <summary>Sends one file back if it changed since it was last sent.</summary>
    public async Task FlushAsync(string remotePath, CancellationToken cancellationToken)
    {
        await _flushing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_dirty.TryRemove(remotePath, out _))
            {
                return;
            }

            var local = LocalPath(remotePath);
            if (!File.Exists(local))
            {
                return;
            }

            var content = File.OpenRead(local);
            await using (content.ConfigureAwait(false))
            {
                await _remote.WriteFileAsync(remotePath, content, cancellationToken).ConfigureAwait(false);
            }

            // fchmod/futimens on the app's fd changed the copy (cp -p does): its metadata goes too.
            var attributes = new RemoteAttributes
            {
                Mode = (int)File.GetUnixFileMode(local) & 0xfff,
                LastWriteTime = File.GetLastWriteTimeUtc(local),
            };
            await _remote.SetAttributesAsync(remotePath, attributes, followSymlinks: true, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _flushing.Release();
        }
    }

    /// <summary>
    /// Mirrors a chmod/utimensat applied remotely onto the file's copy, if there is one: a written
    /// copy is sent back with its mode and times, which must not undo the change. Directories
    /// keep theirs (the supervisor must stay able to enter them).
    /// </summary>
    public void ApplyAttributes(string remotePath, RemoteAttributes attributes)
    {
        var local = LocalPath(remotePath);
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

    /// <summary>Failures of write-backs that happened in the background (on close).</summary>
    public Exception? LastWriteBackError { get; private set; }

    private void WatchLoop()
    {
        while (!_stopping.IsCancellationRequested)
        {
            if (_inotify.Value.Wait(100))
            {
                foreach (var path in DrainEvents())
                {
                    _ = WriteBackAsync(path);
                }
            }
        }
    }

    /// <summary>Reads queued close-after-write events and marks their files dirty; returns them.</summary>
    private List<string> DrainEvents()
    {
        var closed = new List<string>();
        if (!_inotify.IsValueCreated)
        {
            return closed;
        }

        lock (_events)
        {
            foreach (var (watch, mask, name) in _inotify.Value.ReadAvailable())
            {
                if ((mask & Inotify.CloseWrite) != 0 && _watchedDirectories.TryGetValue(watch, out var directory)
                    && RemotePathOf(Path.Combine(directory, name)) is { } path && _written.ContainsKey(path))
                {
                    _dirty[path] = 0;
                    closed.Add(path);
                }
            }
        }

        return closed;
    }

    private async Task WriteBackAsync(string path)
    {
        try
        {
            await FlushAsync(path, _stopping.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or RemoteFileException)
        {
            LastWriteBackError = e;
            _dirty[path] = 0; // try again at the final flush
        }
    }

    /// <summary>
    /// Drops what the tree knows about a path that was removed, created or renamed remotely; its
    /// directory is listed again on its next open.
    /// </summary>
    public void Forget(string remotePath)
    {
        _dirty.TryRemove(remotePath, out _);
        _written.TryRemove(remotePath, out _);
        _listed.TryRemove(remotePath, out _);
        _listed.TryRemove(RemotePath.Parent(remotePath), out _); // listed again on the next open
        foreach (var key in _fetched.Keys.Where(k => k.Path == remotePath))
        {
            _fetched.TryRemove(key, out _);
        }

        var local = LocalPath(remotePath);
        try
        {
            if (Directory.Exists(local) && new DirectoryInfo(local).LinkTarget is null)
            {
                Directory.Delete(local, recursive: true);
            }
            else if (File.Exists(local))
            {
                File.Delete(local);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _watcher?.Join();
        if (_inotify.IsValueCreated)
        {
            _inotify.Value.Dispose();
        }

        _flushing.Dispose();
        _stopping.Dispose();
        if (_ownsRoot)
        {
            try
            {
                Directory.Delete(Root, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    private async Task ListAsync(string remotePath, CancellationToken cancellationToken)
    {
        var entries = await _remote.ListDirectoryAsync(remotePath, cancellationToken).ConfigureAwait(false);
        var local = LocalPath(remotePath);
        EnsurePlaceholder(local, RemoteEntryKind.Directory);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            if (entry.Name is "" or "." or ".." || entry.Name.Contains('/', StringComparison.Ordinal))
            {
                continue;
            }

            names.Add(entry.Name);
            EnsurePlaceholder(Path.Combine(local, entry.Name), entry.Kind);
        }

        // Gone remotely: gone here too, unless written here and not sent back yet.
        foreach (var existing in new DirectoryInfo(local).EnumerateFileSystemInfos())
        {
            var child = remotePath == "/" ? "/" + existing.Name : remotePath + "/" + existing.Name;
            if (!names.Contains(existing.Name) && !_written.ContainsKey(child) && !existing.Name.Contains(".doppel-", StringComparison.Ordinal))
            {
                Forget(child);
            }
        }
    }

    private async Task DownloadAsync(string remotePath, RemoteEntry entry, CancellationToken cancellationToken)
    {
        var local = LocalPath(remotePath);
        Directory.CreateDirectory(Path.GetDirectoryName(local)!);
        if (Directory.Exists(local))
        {
            Directory.Delete(local, recursive: true);
        }

        // Download beside, then rename: an app never sees a half-written file.
        var partial = $"{local}.doppel-{Guid.NewGuid():N}";
        var file = new FileStream(partial, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, useAsync: true);
        await using (file.ConfigureAwait(false))
        {
            await _remote.ReadFileAsync(remotePath, file, cancellationToken).ConfigureAwait(false);
        }

        File.SetUnixFileMode(partial, (UnixFileMode)(entry.Mode & 0xfff));
        File.SetLastWriteTimeUtc(partial, entry.LastWriteTime.UtcDateTime);
        File.Move(partial, local, overwrite: true);
    }

    private static void EnsurePlaceholder(string local, RemoteEntryKind kind)
    {
        var parent = Path.GetDirectoryName(local);
        if (parent is not null)
        {
            Directory.CreateDirectory(parent);
        }

        var isDirectory = Directory.Exists(local);
        if (kind == RemoteEntryKind.Directory)
        {
            if (!isDirectory)
            {
                if (File.Exists(local))
                {
                    File.Delete(local);
                }

                Directory.CreateDirectory(local);
            }

            return;
        }

        // Files, symlinks (followed remotely) and others are empty files until fetched.
        if (!isDirectory && !File.Exists(local))
        {
            File.Create(local).Dispose();
        }
    }
}
