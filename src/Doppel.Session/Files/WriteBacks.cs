using Doppel.Interception.Remote;
using Doppel.Linux.Files;
using Doppel.Linux.Native;
using Doppel.Linux.Text;
using Doppel.Session.Remote;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Doppel.Session.Files;

/// <summary>
/// Write-back of files the program opened for writing: their local copy is the truth until sent.
/// A writer's close (inotify IN_CLOSE_WRITE on the copy's directory) queues a write-back, run as an
/// owned background task shortly after the close; the final flush sends whatever is left. Once a
/// file's latest content has been sent and no writer has it open, it goes back to the cache's
/// rules (<see cref="FileContents"/>: fetched again, so a change made in the pod afterwards is
/// seen). A write-back that fails is never silent: the user is told once per file
/// (<see cref="WriteBackFailure"/>), the file stays queued for the final flush, and it is listed in
/// <see cref="Unsent"/> until a write-back of it succeeds.
/// <code>
///   program open for writing ──► MarkWritten: opens+1, changes+1
///   program close(fd) ──IN_CLOSE_WRITE──► watcher thread: opens−1, changes+1 ──► background write-back
///   write-back: changes = c ──WriteFile + SetAttributes──► agent ──► sent = c; sent = changes and opens = 0? ──► back to the cache
///   SettleAsync / FlushAsync(path) (open, stat, chmod of that path) ──► the same, awaited
///   RenameAsync: flush, rename in the pod, local copy and state move to the new name (an open fd follows)
///   LinkAsync: flush, link in the pod, the new name's cache dropped
///   every send is in place, of the ranges that differ from what the pod has (RemoteImage), O_APPEND-only growth appended
///   DeleteAsync: a send under way ends, the pod deletes (ENOENT for a file never sent is success), state dropped: never sent after
///   program exit ──► FlushAllAsync ──► every file with changes ≠ sent (Ctrl+C skips: listed as unsent)
/// </code>
/// </summary>
internal sealed class WriteBacks : IAsyncDisposable
{
    private static readonly TimeSpan SettledAfter = TimeSpan.FromMilliseconds(50);

    private readonly IRemote _remote;
    private readonly CacheTree _tree;
    private readonly Action<string> _report;
    private readonly Action<string> _recovered;
    private readonly Action<int> _finalFlushStarting;
    private readonly Action<string, RemoteEntry?> _backToCache;
    private readonly Action<string, (long Size, DateTimeOffset Mtime)> _sent;
    private readonly Func<string, bool> _sendsCopyMtime;

    // Remote paths written here whose local copy is the truth, under _state.
    private readonly Dictionary<string, Written> _written = new(StringComparer.Ordinal);

    // Paths whose last write-back failed or was skipped (the user has been told), under _state.
    private readonly SortedSet<string> _failed = new(StringComparer.Ordinal);
    private readonly Lock _state = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, string> _watchedDirectories = new();
    private readonly SemaphoreSlim _flushing = new(1, 1);
    private readonly Lock _events = new();
    private readonly Lazy<Inotify> _inotify;
    private readonly CancellationTokenSource _stopping = new();
    private readonly BackgroundTasks _background;
    private Thread? _watcher;

    /// <param name="backToCache">
    /// Called with a path whose latest content reached the remote and that no writer has open: its
    /// cached copy is no longer the truth. With the remote file's stat when the remote file is known
    /// to hold exactly the local copy (no other process changed it since it was fetched or last sent:
    /// <see cref="RemoteWriteResult"/>), so the copy may stay cached on that stat; null: fetch it again.
    /// </param>
    /// <param name="recovered">Called with the sentence for a path told as failed whose write-back later succeeded.</param>
    /// <param name="sendsCopyMtime">
    /// Whether a path's write-backs always carry the copy's mtime (a file the program locks: its lock
    /// points tell the copy and the pod in step by one (size, mtime) both share after a send).
    /// </param>
    /// <param name="sent">
    /// Called after each completed send with the local copy's (size, mtime) when it was sent: the
    /// remote file has that content and mtime now (a lock compares them with the remote's stat).
    /// </param>
    public WriteBacks(IRemote remote, CacheTree tree, Action<string> report, Action<string> recovered, Action<int> finalFlushStarting, Action<string, RemoteEntry?> backToCache, ILogger logger, Action<string, (long Size, DateTimeOffset Mtime)>? sent = null, Func<string, bool>? sendsCopyMtime = null)
    {
        _sendsCopyMtime = sendsCopyMtime ?? (_ => false);
        _sent = sent ?? ((_, _) => { });
        _remote = remote;
        _tree = tree;
        _report = report;
        _recovered = recovered;
        _finalFlushStarting = finalFlushStarting;
        _backToCache = backToCache;
        _background = new BackgroundTasks(logger);

        // Most sessions never write: the watcher starts with the first file opened for writing.
        _inotify = new Lazy<Inotify>(() =>
        {
            var inotify = new Inotify();
            _watcher = new Thread(WatchLoop) { IsBackground = true, Name = "doppel-cache-watch" };
            _watcher.Start();
            return inotify;
        });
    }

    /// <summary>Remote paths whose content has not reached the remote because its last write-back failed or was skipped.</summary>
    public IReadOnlyCollection<string> Unsent
    {
        get
        {
            lock (_state)
            {
                return [.. _failed];
            }
        }
    }

    public bool IsWritten(string remotePath)
    {
        lock (_state)
        {
            return _written.ContainsKey(remotePath);
        }
    }

    /// <summary>Whether any path is written here (close and fsync look no further while none is).</summary>
    public bool HasWrittenFiles
    {
        get
        {
            lock (_state)
            {
                return _written.Count > 0;
            }
        }
    }

    /// <summary>
    /// Write-through (close, fsync, fdatasync): counts a change and sends the file now, unless the
    /// local copy is exactly what was sent last; a failure is reported and thrown.
    /// </summary>
    public async Task PushAsync(string remotePath, CancellationToken cancellationToken)
    {
        await _flushing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            lock (_state)
            {
                if (!_written.TryGetValue(remotePath, out var written))
                {
                    return;
                }

                written.Changes++;
            }

            await FlushHoldingLockAsync(remotePath, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _flushing.Release();
        }
    }

    /// <param name="remotePath">The path opened for writing.</param>
    /// <param name="copyIsRemote">
    /// The local copy is exactly the remote's content (fetched and unchanged since): when the path
    /// was not written yet, that content counts as sent, so a writer that closes it without writing
    /// sends nothing (a second open's settle neither), and a write-back sends only the ranges that
    /// differ from it (<see cref="RemoteImage"/>).
    /// </param>
    /// <param name="append">The program opened it with O_APPEND: bytes it only adds go at the remote file's end as it is then.</param>
    /// <param name="copyWasFetched">
    /// The local copy holds content read from the remote and not changed here, though the remote may
    /// have changed while it was read (its stat then differs from the content's): a write-back sends
    /// only the ranges that differ from that content, and an O_APPEND writer's added bytes are appended.
    /// </param>
    /// <param name="remoteEntry">With <paramref name="copyIsRemote"/>: the remote stat the copy came with.</param>
    /// <param name="created">The remote side just made the file, empty, for this open: what a write-back compares with is no bytes.</param>
    public void MarkWritten(string remotePath, bool copyIsRemote = false, bool append = false, bool copyWasFetched = false, RemoteEntry? remoteEntry = null, bool created = false)
    {
        var first = !IsWritten(remotePath);
        var baseline = copyIsRemote && first ? SignatureOf(_tree.LocalPath(remotePath), null) : null;
        var image = !first ? null : created ? RemoteImage.Empty : copyIsRemote || copyWasFetched ? ImageOf(_tree.LocalPath(remotePath)) : null;
        lock (_state)
        {
            var written = _written.TryGetValue(remotePath, out var w) ? w : _written[remotePath] = new Written { SentSignature = baseline, Image = image, Remote = copyIsRemote ? remoteEntry : null, ModeAtOpen = ModeOf(_tree.LocalPath(remotePath)) };
            written.Opens++;
            written.Changes++;
            written.Appends |= append;
        }

        Watch(Path.GetDirectoryName(_tree.LocalPath(remotePath))!);
    }

    /// <summary>Undoes <see cref="MarkWritten"/> after the open failed: a path nothing else wrote is forgotten.</summary>
    public void Unmark(string remotePath)
    {
        lock (_state)
        {
            if (_written.TryGetValue(remotePath, out var written) && --written.Opens <= 0 && written is { Changes: 1, Sent: 0 })
            {
                _written.Remove(remotePath);
            }
        }
    }

    /// <summary>
    /// The supervisor is about to write the path's copy through an fd of its own (a refresh at a
    /// lock): that fd's close is not a writer's, so the watcher does not count it.
    /// </summary>
    public void ExpectOwnClose(string remotePath)
    {
        lock (_state)
        {
            if (_written.TryGetValue(remotePath, out var written))
            {
                written.OwnCloses++;
            }
        }
    }

    /// <summary>
    /// The local copy was just made the remote's content again (refreshed in place at a lock): it is
    /// what the remote has, so a writer's later close does not send it back unless it writes.
    /// </summary>
    public void Adopt(string remotePath)
    {
        var signature = SignatureOf(_tree.LocalPath(remotePath), null);
        var image = ImageOf(_tree.LocalPath(remotePath));
        lock (_state)
        {
            if (_written.TryGetValue(remotePath, out var written))
            {
                written.Sent = written.Changes;
                written.SentSignature = signature;
                written.Image = image;
            }
        }
    }

    /// <summary>Forgets a path removed remotely: nothing of it is sent back any more.</summary>
    public void Forget(string remotePath)
    {
        lock (_state)
        {
            _written.Remove(remotePath);
            _failed.Remove(remotePath);
        }
    }

    /// <summary>
    /// Renames <paramref name="from"/> to <paramref name="to"/>: with no write-back running, its latest
    /// content is sent first (a failure throws and nothing is renamed), then <paramref name="renameRemotely"/>
    /// runs, then <paramref name="moveLocally"/> moves the local copy (a writer's open fd follows it, as
    /// its close does: IN_CLOSE_WRITE names the new name), and the write-back state of the path (and of
    /// every path under it) moves along, so later writes reach the remote under the new name.
    /// </summary>
    public async Task RenameAsync(string from, string to, Func<Task> renameRemotely, Action moveLocally, CancellationToken cancellationToken)
    {
        if (from == to)
        {
            await renameRemotely().ConfigureAwait(false); // rename(2) to itself: nothing moves
            return;
        }

        await _flushing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            DrainEvents(); // a close under the old name is counted there
            await FlushHoldingLockAsync(from, cancellationToken).ConfigureAwait(false);
            await renameRemotely().ConfigureAwait(false);
            moveLocally();
            lock (_state)
            {
                Move(_written, from, to);
                foreach (var failed in _failed.Where(p => p == to || p.StartsWith(to + "/", StringComparison.Ordinal)).ToList())
                {
                    _failed.Remove(failed); // replaced in the pod by the renamed file
                }

                foreach (var failed in _failed.Where(p => Renamed(p, from, to) is not null).ToList())
                {
                    _failed.Remove(failed);
                    _failed.Add(Renamed(failed, from, to)!);
                }
            }

            Watch(Path.GetDirectoryName(_tree.LocalPath(to))!);
        }
        finally
        {
            _flushing.Release();
        }
    }

    /// <summary>
    /// Exchanges <paramref name="first"/> and <paramref name="second"/>: with no write-back running,
    /// both files' latest content is sent first (a failure throws and nothing is swapped), then
    /// <paramref name="exchangeRemotely"/> runs, then <paramref name="exchangeLocally"/> swaps the
    /// local copies, and their write-back states (and failures) swap along.
    /// </summary>
    public async Task ExchangeAsync(string first, string second, Func<Task> exchangeRemotely, Action exchangeLocally, CancellationToken cancellationToken)
    {
        await _flushing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            DrainEvents();
            await FlushHoldingLockAsync(first, cancellationToken).ConfigureAwait(false);
            await FlushHoldingLockAsync(second, cancellationToken).ConfigureAwait(false);
            await exchangeRemotely().ConfigureAwait(false);
            exchangeLocally();
            lock (_state)
            {
                Swap(_written, first, second);
                var firstFailed = _failed.Remove(first);
                if (_failed.Remove(second))
                {
                    _failed.Add(first);
                }

                if (firstFailed)
                {
                    _failed.Add(second);
                }
            }

            Watch(Path.GetDirectoryName(_tree.LocalPath(first))!);
            Watch(Path.GetDirectoryName(_tree.LocalPath(second))!);
        }
        finally
        {
            _flushing.Release();
        }
    }

    /// <summary>
    /// Hard-links <paramref name="from"/>: with no write-back running, its latest content is sent
    /// first (a failure throws and nothing is linked), then <paramref name="linkRemotely"/> runs and
    /// <paramref name="forgetNewName"/> drops what the tree knew of the new name, all under the flush
    /// lock: no send of <paramref name="from"/> replaces the remote file (a new inode) between the
    /// two, which would leave the new name with the old content. From the link on the remote file
    /// has two names, and the agent writes such a file in place.
    /// </summary>
    public async Task LinkAsync(string from, Func<Task> linkRemotely, Action forgetNewName, CancellationToken cancellationToken)
    {
        await _flushing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            DrainEvents(); // a close just before the link is sent with it
            await FlushHoldingLockAsync(from, cancellationToken).ConfigureAwait(false);
            await linkRemotely().ConfigureAwait(false);
            forgetNewName();
        }
        finally
        {
            _flushing.Release();
        }
    }

    /// <summary>
    /// Deletes <paramref name="remotePath"/>: a write-back under way ends first (it cannot be taken
    /// back), then <paramref name="deleteRemotely"/> runs and <paramref name="forget"/> drops the path
    /// with its pending write-back (the file is going away: its content need not reach the remote),
    /// both under the flush lock, so no write-back of it starts in between and none runs after. A
    /// file written here that the remote does not have (never sent) is deleted here alone: ENOENT
    /// counts as success. A directory's written files are sent first, so the remote rmdir sees
    /// what the program sees (ENOTEMPTY).
    /// </summary>
    public async Task DeleteAsync(string remotePath, bool directory, Func<Task> deleteRemotely, Action forget, CancellationToken cancellationToken)
    {
        await _flushing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            DrainEvents(); // a close just before the delete is counted (and dropped with it)
            if (directory)
            {
                foreach (var inside in DirtyPaths().Where(p => p.StartsWith(remotePath + "/", StringComparison.Ordinal)))
                {
                    try
                    {
                        await FlushHoldingLockAsync(inside, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                    {
                        // Reported by FlushHoldingLockAsync; the rmdir goes on.
                    }
                }
            }

            try
            {
                await deleteRemotely().ConfigureAwait(false);
            }
            catch (RemoteFileException e) when (e.Errno == Errno.ENOENT && !directory && IsWritten(remotePath) && File.Exists(_tree.LocalPath(remotePath)))
            {
                // Created here and not sent yet: only the local copy exists.
            }

            forget();
        }
        finally
        {
            _flushing.Release();
        }
    }

    public async ValueTask SettleAsync(string remotePath, CancellationToken cancellationToken)
    {
        if (!IsWritten(remotePath))
        {
            return;
        }

        DrainEvents();
        if (IsDirty(remotePath))
        {
            await WriteBackReportingAsync(remotePath, cancellationToken).ConfigureAwait(false);
            return;
        }

        // A write-back under way ends first.
        await _flushing.WaitAsync(cancellationToken).ConfigureAwait(false);
        _flushing.Release();
    }

    /// <summary>
    /// The final flush: every written file goes back; failures are reported, not thrown. When
    /// <paramref name="cancellationToken"/> is cancelled (Ctrl+C at exit) it stops at once, and the
    /// files not sent are each told to the user and listed in <see cref="Unsent"/>.
    /// </summary>
    public async Task FlushAllAsync(CancellationToken cancellationToken)
    {
        // Closes that happened just before the exit: marked under the same lock the watcher
        // marks under, so none is read by the watcher and left unmarked.
        DrainEvents();
        var pending = DirtyPaths();
        if (pending.Count == 0)
        {
            return;
        }

        // Only files whose copy is not what was sent last are counted (a close that changed nothing sends nothing).
        pending = [.. pending.Where(NeedsSend)];
        if (pending.Count == 0)
        {
            return;
        }

        _finalFlushStarting(pending.Count);
        try
        {
            foreach (var path in pending)
            {
                await WriteBackReportingAsync(path, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (cancellationToken.IsCancellationRequested && e is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
        {
            foreach (var path in DirtyPaths())
            {
                bool told;
                lock (_state)
                {
                    told = !_failed.Add(path);
                }

                // A file whose send began (the flush's own, or a write-back after a close) goes into the
                // pod's file itself: it may hold part of it.
                bool began;
                lock (_state)
                {
                    began = _written.TryGetValue(path, out var written) && written.SendBegan;
                }

                var holds = began ? "the pod's file may hold only part of the new content" : "the pod keeps its previous content";
                if (!told)
                {
                    _report($"{Printable.Escape(path)} was not written back to the pod: sending it was skipped at exit, so {holds}; run the program again to write it.");
                }
            }
        }
    }

    /// <summary>Sends one file back if it changed since it was last sent; a failure is reported and thrown.</summary>
    public async Task FlushAsync(string remotePath, CancellationToken cancellationToken)
    {
        await _flushing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await FlushHoldingLockAsync(remotePath, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _flushing.Release();
        }
    }

    /// <summary>Stops the watcher and waits for the write-backs under way (cancelled: their files stay unsent).</summary>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _watcher?.Join();
        await _background.WhenAllAsync().ConfigureAwait(false);
        if (_inotify.IsValueCreated)
        {
            _inotify.Value.Dispose();
        }

        _flushing.Dispose();
        _stopping.Dispose();
    }

    private static string? Renamed(string path, string from, string to) =>
        path == from ? to : path.StartsWith(from + "/", StringComparison.Ordinal) ? to + path[from.Length..] : null;

    // Moves the entries of `from` (and under it) to `to`; those of `to` (and under it) are replaced.
    private static void Move(Dictionary<string, Written> states, string from, string to)
    {
        foreach (var replaced in states.Keys.Where(p => Renamed(p, to, to) is not null).ToList())
        {
            states.Remove(replaced);
        }

        foreach (var (path, state) in states.Where(e => Renamed(e.Key, from, to) is not null).ToList())
        {
            states.Remove(path);
            states[Renamed(path, from, to)!] = state;
        }
    }

    private static void Swap(Dictionary<string, Written> states, string first, string second)
    {
        var hadFirst = states.Remove(first, out var firstState);
        if (states.Remove(second, out var secondState))
        {
            states[first] = secondState;
        }

        if (hadFirst)
        {
            states[second] = firstState!;
        }
    }

    private void Watch(string directory)
    {
        var watch = _inotify.Value.AddWatch(directory, Inotify.CloseWrite);
        if (watch >= 0)
        {
            _watchedDirectories[watch] = directory;
        }
    }

    private bool IsDirty(string remotePath)
    {
        lock (_state)
        {
            return _written.TryGetValue(remotePath, out var written) && written.IsDirty;
        }
    }

    // Whether the path's copy differs from what was sent last (the final flush counts only those).
    private bool NeedsSend(string remotePath)
    {
        Signature? sentLast;
        lock (_state)
        {
            if (!_written.TryGetValue(remotePath, out var written))
            {
                return false;
            }

            sentLast = written.SentSignature;
        }

        return !SameContent(SignatureOf(_tree.LocalPath(remotePath), sentLast), sentLast);
    }

    private List<string> DirtyPaths()
    {
        lock (_state)
        {
            return [.. _written.Where(e => e.Value.IsDirty).Select(e => e.Key).Order(StringComparer.Ordinal)];
        }
    }

    /// <summary>
    /// The send, under <see cref="_flushing"/>. Only a completed send counts: a failed or cancelled
    /// one leaves the path dirty for the next write-back or the final flush. Changes made while it
    /// ran (a close, a new open for writing) keep the path written.
    /// </summary>
    private async Task FlushHoldingLockAsync(string remotePath, CancellationToken cancellationToken)
    {
        long changes;
        Signature? sentLast;
        lock (_state)
        {
            if (!_written.TryGetValue(remotePath, out var written) || !written.IsDirty)
            {
                return;
            }

            changes = written.Changes;
            sentLast = written.SentSignature;
        }

        // Taken before the send: a write during it makes the next send go too.
        var signature = SignatureOf(_tree.LocalPath(remotePath), sentLast);
        try
        {
            if (!SameContent(signature, sentLast))
            {
                await SendAsync(remotePath, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            bool first;
            lock (_state)
            {
                first = _written.ContainsKey(remotePath) && _failed.Add(remotePath);
                if ((e as RemoteFileException)?.WrittenInPlace != false && _written.TryGetValue(remotePath, out var written))
                {
                    // Part of the send may be in the pod (an append twice would be): the next send is the whole copy.
                    written.Image = null;
                    written.Remote = null;
                }
            }

            if (first)
            {
                _report(WriteBackFailure.Describe(remotePath, e));
            }

            throw;
        }

        bool backToCache;
        bool recovered;
        RemoteEntry? remote = null;
        lock (_state)
        {
            recovered = _failed.Remove(remotePath);
            backToCache = false;
            if (_written.TryGetValue(remotePath, out var written))
            {
                written.Sent = Math.Max(written.Sent, changes);
                written.SentSignature = signature;
                backToCache = !written.IsDirty && written.Opens <= 0;
                remote = written.Remote;
                if (backToCache)
                {
                    _written.Remove(remotePath);
                }
            }
        }

        if (recovered)
        {
            _recovered($"{Printable.Escape(remotePath)} reached the pod after all.");
        }

        if (backToCache)
        {
            _backToCache(remotePath, remote);
        }
    }

    /// <summary>
    /// What tells one content of a local copy from another: any write changes the change time. The
    /// kernel stamps it from a coarse clock (one tick, at most 10 ms behind), so two writes within a
    /// tick can leave the same stat: a copy changed within the last <see cref="SettledAfter"/> (or
    /// whose last signature was such) also carries a hash of its bytes.
    /// </summary>
    private static Signature? SignatureOf(string local, Signature? last)
    {
        if (RootedFiles.Stat(local, followSymlinks: true, out var info) != 0)
        {
            return null;
        }

        var changed = DateTimeOffset.FromUnixTimeSeconds(info.Ctime.Seconds).AddTicks(info.Ctime.Nanoseconds / 100);
        byte[]? hash = null;
        if (DateTimeOffset.UtcNow - changed < SettledAfter || last?.Hash is not null)
        {
            try
            {
                using var content = File.OpenRead(local);
                var hasher = new System.IO.Hashing.XxHash128();
                hasher.Append(content);
                hash = hasher.GetCurrentHash(); // telling two contents of one copy apart, not guarding against an adversary
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return null;
            }
        }

        return new Signature(info.Inode, info.Size, info.Mtime, info.Ctime, hash);
    }

    /// <summary>The copy is as it was sent last: the same stat, and the same bytes where the stat cannot tell.</summary>
    private static bool SameContent(Signature? now, Signature? last) =>
        now is not null && last is not null && now.Inode == last.Inode && now.Size == last.Size && now.Mtime == last.Mtime && now.Ctime == last.Ctime
        && (last.Hash is null || (now.Hash is not null && now.Hash.AsSpan().SequenceEqual(last.Hash)));

    /// <summary>
    /// Sends the local copy into the remote file itself: where the remote's content is known
    /// (<see cref="RemoteImage"/>) only the ranges that differ, appended where the program opened it
    /// with O_APPEND and only added bytes, else the whole copy. The image is taken before the bytes
    /// are read for the send, so a write racing the send makes a later send go again, never none.
    /// </summary>
    private async Task SendAsync(string remotePath, CancellationToken cancellationToken)
    {
        var local = _tree.LocalPath(remotePath);
        if (!File.Exists(local))
        {
            return;
        }

        RemoteImage? image;
        RemoteEntry? known;
        bool appends;
        int? modeAtOpen;
        lock (_state)
        {
            image = _written.TryGetValue(remotePath, out var written) ? written.Image : null;
            known = written?.Remote;
            appends = written?.Appends ?? false;
            modeAtOpen = written?.ModeAtOpen;
            if (written is not null)
            {
                written.SendBegan = true; // until a send completes: the pod's file may hold part of one
            }
        }

        var content = File.OpenRead(local);
        await using (content.ConfigureAwait(false))
        {
            // fchmod/futimens on the app's fd changed the copy (cp -p does): its metadata goes too,
            // in the same call where the agent can (feature "files.write-attributes"). A write-back of
            // ranges sends only what the program set: its mode when it differs from the one the copy
            // was opened with, its mtime when futimens set one (not the time of its last write: the
            // pod's own clock stamps the write, and a pod process's later write is not undone).
            var mode = (int)File.GetUnixFileMode(local) & 0xfff;
            var mtime = File.GetLastWriteTimeUtc(local);
            var attributes = new RemoteAttributes
            {
                Mode = image is null || mode != modeAtOpen ? mode : null,
                LastWriteTime = image is null || MtimeWasSet(local) || _sendsCopyMtime(remotePath) ? mtime : null,
            };
            RemoteWritePlan? plan = null;
            RemoteImage next;
            if (image is not null)
            {
                (var ranges, next) = image.Compare(content);
                var onlyAdded = next.Length > image.Length && ranges is [var (offset, length)] && offset == image.Length && offset + length == next.Length;
                plan = new RemoteWritePlan(ranges, next.Length != image.Length && !(appends && onlyAdded) ? next.Length : null, appends && onlyAdded);
            }
            else
            {
                next = RemoteImage.Of(content);
            }

            var result = await _remote.WriteChangesAsync(remotePath, content, plan, attributes, cancellationToken).ConfigureAwait(false);
            mtime = result?.After.LastWriteTime.UtcDateTime ?? mtime; // what the pod's file now says

            // The remote file is the copy as read for the send when nobody else changed it since it
            // was last known (its stat before the write is that one) or the whole copy replaced it.
            var exact = result is not null && result.After.Size == next.Length
                && (plan is null || (known is not null && result.Before.Size == known.Size && result.Before.LastWriteTime == known.LastWriteTime));
            lock (_state)
            {
                if (_written.TryGetValue(remotePath, out var written))
                {
                    written.Image = next;
                    written.Remote = exact ? result!.After : null;
                    written.SendBegan = false;
                }
            }

            _sent(remotePath, (next.Length, new DateTimeOffset(mtime)));
        }
    }

    // The permission bits of a local copy; null when it is not there (yet).
    private static int? ModeOf(string local) =>
        RootedFiles.Stat(local, followSymlinks: true, out var info) == 0 ? (int)(info.Mode & 0xfff) : null;

    // futimens/utimensat set the copy's mtime (touch -d, cp -p): it is not its change time, which
    // every write and attribute change stamps along with (a write sets both to now).
    private static bool MtimeWasSet(string local) =>
        RootedFiles.Stat(local, followSymlinks: true, out var info) == 0 && info.Mtime != info.Ctime;

    // The image of a local copy; null when it cannot be read (its write-back then sends it whole).
    private static RemoteImage? ImageOf(string local)
    {
        try
        {
            using var content = File.OpenRead(local);
            return RemoteImage.Of(content);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
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
            // Reported by FlushHoldingLockAsync.
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
                    _background.Run($"write-back of {path}", () => WriteBackInBackgroundAsync(path));
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
        catch (Exception e) when (_stopping.IsCancellationRequested && e is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
        {
            // The session is ending: the path stays dirty (only a completed send counts).
        }
    }

    /// <summary>Reads queued close-after-write events, counts the closes and marks their files changed; returns them.</summary>
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
                if ((mask & Inotify.CloseWrite) == 0 || !_watchedDirectories.TryGetValue(watch, out var directory)
                    || _tree.RemotePathOf(Path.Combine(directory, name)) is not { } path)
                {
                    continue;
                }

                lock (_state)
                {
                    if (_written.TryGetValue(path, out var written) && written.OwnCloses > 0)
                    {
                        written.OwnCloses--; // the supervisor's own refresh of the copy, not a writer's close
                    }
                    else if (_written.TryGetValue(path, out written))
                    {
                        written.Opens--;
                        written.Changes++;
                        closed.Add(path);
                    }
                }
            }
        }

        return closed;
    }

    /// <summary>
    /// A written path's state: how many opens for writing are not closed yet (each open file
    /// description's last close is one IN_CLOSE_WRITE), and the change counter against the one
    /// last sent (dirty when they differ).
    /// </summary>
    private sealed record Signature(ulong Inode, ulong Size, (long Seconds, uint Nanoseconds) Mtime, (long Seconds, uint Nanoseconds) Ctime, byte[]? Hash);

    private sealed class Written
    {
        public int Opens { get; set; }

        public long Changes { get; set; }

        public long Sent { get; set; }

        /// <summary>Closes of the copy made by the supervisor's own refreshes, not yet seen by the watcher.</summary>
        public int OwnCloses { get; set; }

        /// <summary>The local copy as it was when last sent: the same again need not be sent.</summary>
        public Signature? SentSignature { get; set; }

        /// <summary>What the remote file holds (fetched with, or last sent); null: unknown, the next send is whole.</summary>
        public RemoteImage? Image { get; set; }

        /// <summary>An open for writing had O_APPEND: bytes only added are appended at the remote's end.</summary>
        public bool Appends { get; set; }

        /// <summary>A send of the path began and none has completed since: the pod's file may hold part of it.</summary>
        public bool SendBegan { get; set; }

        /// <summary>The copy's permission bits when it was first opened for writing (a write-back of ranges sends the mode only when the program changed it).</summary>
        public int? ModeAtOpen { get; set; }

        /// <summary>The remote file's stat when it last held exactly <see cref="Image"/> (fetched with it, or after a send); null: not known.</summary>
        public RemoteEntry? Remote { get; set; }

        public bool IsDirty => Changes != Sent;
    }
}
