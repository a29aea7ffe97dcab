using System.Collections.Concurrent;
using Doppel.Interception.Remote;
using Doppel.Linux.Files;

namespace Doppel.Session.Files;

/// <summary>
/// Write-back of files the program opened for writing: their local copy is the truth until sent.
/// A writer's close (inotify IN_CLOSE_WRITE on the copy's directory) queues a write-back, and the
/// final flush sends whatever is left. A write-back that fails is never silent: the user is told
/// once per file (<see cref="WriteBackFailure"/>), the file stays queued for the final flush, and
/// it is listed in <see cref="Unsent"/> until a write-back of it succeeds.
/// <code>
///   program close(fd) ──IN_CLOSE_WRITE──► watcher thread ──► WriteBackInBackgroundAsync ──WriteFile + SetAttributes──► agent
///   SettleAsync / FlushAsync(path) (open, stat, rename, chmod of that path) ──► the same, awaited
///   program exit ──► FlushAllAsync ──► every queued file
/// </code>
/// </summary>
internal sealed class WriteBacks : IDisposable
{
    private readonly IRemote _remote;
    private readonly CacheTree _tree;
    private readonly Action<string> _report;

    // Remote paths opened for writing: the local copy is the truth until sent back.
    private readonly ConcurrentDictionary<string, byte> _written = new(StringComparer.Ordinal);

    // Written paths whose content changed since it was last sent back.
    private readonly ConcurrentDictionary<string, byte> _dirty = new(StringComparer.Ordinal);

    // Paths whose last write-back failed (the user has been told).
    private readonly ConcurrentDictionary<string, byte> _failed = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<int, string> _watchedDirectories = new();
    private readonly SemaphoreSlim _flushing = new(1, 1);
    private readonly Lock _events = new();
    private readonly Lazy<Inotify> _inotify;
    private readonly CancellationTokenSource _stopping = new();
    private Thread? _watcher;

    public WriteBacks(IRemote remote, CacheTree tree, Action<string> report)
    {
        _remote = remote;
        _tree = tree;
        _report = report;

        // Most sessions never write: the watcher starts with the first file opened for writing.
        _inotify = new Lazy<Inotify>(() =>
        {
            var inotify = new Inotify();
            _watcher = new Thread(WatchLoop) { IsBackground = true, Name = "doppel-cache-watch" };
            _watcher.Start();
            return inotify;
        });
    }

    /// <summary>Remote paths whose content has not reached the remote because its last write-back failed.</summary>
    public IReadOnlyCollection<string> Unsent => [.. _failed.Keys.Order(StringComparer.Ordinal)];

    public bool IsWritten(string remotePath) => _written.ContainsKey(remotePath);

    public void MarkWritten(string remotePath)
    {
        _written[remotePath] = 0;
        _dirty[remotePath] = 0;
        var directory = Path.GetDirectoryName(_tree.LocalPath(remotePath))!;
        var watch = _inotify.Value.AddWatch(directory, Inotify.CloseWrite);
        if (watch >= 0)
        {
            _watchedDirectories[watch] = directory;
        }
    }

    public void Unmark(string remotePath)
    {
        _written.TryRemove(remotePath, out _);
        _dirty.TryRemove(remotePath, out _);
    }

    /// <summary>Forgets a path removed or renamed remotely: nothing of it is sent back any more.</summary>
    public void Forget(string remotePath)
    {
        Unmark(remotePath);
        _failed.TryRemove(remotePath, out _);
    }

    public async ValueTask SettleAsync(string remotePath, CancellationToken cancellationToken)
    {
        if (!_written.ContainsKey(remotePath))
        {
            return;
        }

        DrainEvents();
        if (_dirty.ContainsKey(remotePath))
        {
            await WriteBackReportingAsync(remotePath, cancellationToken).ConfigureAwait(false);
            return;
        }

        await _flushing.WaitAsync(cancellationToken).ConfigureAwait(false);
        _flushing.Release();
    }

    /// <summary>The final flush: every written file goes back; failures are reported, not thrown.</summary>
    public async Task FlushAllAsync(CancellationToken cancellationToken)
    {
        // Closes that happened just before the exit: marked under the same lock the watcher
        // marks under, so none is read by the watcher and left unmarked.
        DrainEvents();

        // Wait for a write-back the watcher has under way (it holds the flush lock while sending).
        await _flushing.WaitAsync(cancellationToken).ConfigureAwait(false);
        _flushing.Release();
        foreach (var path in _dirty.Keys)
        {
            await WriteBackReportingAsync(path, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Sends one file back if it changed since it was last sent; a failure is reported and thrown.</summary>
    public async Task FlushAsync(string remotePath, CancellationToken cancellationToken)
    {
        await _flushing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_dirty.TryRemove(remotePath, out _))
            {
                return;
            }

            try
            {
                await SendAsync(remotePath, cancellationToken).ConfigureAwait(false);
                _failed.TryRemove(remotePath, out _);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _dirty[remotePath] = 0; // still to send: tried again at the final flush
                if (_failed.TryAdd(remotePath, 0))
                {
                    _report(WriteBackFailure.Describe(remotePath, e));
                }

                throw;
            }
        }
        finally
        {
            _flushing.Release();
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
    }

    private async Task SendAsync(string remotePath, CancellationToken cancellationToken)
    {
        var local = _tree.LocalPath(remotePath);
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

    /// <summary>A write-back whose failure has been reported (and left queued): the caller goes on.</summary>
    private async Task WriteBackReportingAsync(string remotePath, CancellationToken cancellationToken)
    {
        try
        {
            await FlushAsync(remotePath, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Reported by FlushAsync.
        }
    }

    private void WatchLoop()
    {
        while (!_stopping.IsCancellationRequested)
        {
            if (_inotify.Value.Wait(100))
            {
                foreach (var path in DrainEvents())
                {
                    _ = WriteBackInBackgroundAsync(path);
                }
            }
        }
    }

    private async Task WriteBackInBackgroundAsync(string remotePath)
    {
        try
        {
            await WriteBackReportingAsync(remotePath, _stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _dirty[remotePath] = 0; // the session is ending: the final flush sends it
        }
        catch (ObjectDisposedException)
        {
            // Disposed while it waited: the final flush has run.
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
                    && _tree.RemotePathOf(Path.Combine(directory, name)) is { } path && _written.ContainsKey(path))
                {
                    _dirty[path] = 0;
                    closed.Add(path);
                }
            }
        }

        return closed;
    }
}
