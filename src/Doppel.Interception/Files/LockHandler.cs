using System.Collections.Concurrent;
using System.Globalization;
using Doppel.Interception.Remote;
using Doppel.Interception.Supervision;
using Doppel.Linux.Files;
using Doppel.Linux.Native;
using Doppel.Linux.Processes;

namespace Doppel.Interception.Files;

/// <summary>
/// Locks on pod files are the pod's: fcntl's lock commands (F_SETLK, F_SETLKW, F_GETLK and the
/// F_OFD_ forms; the filter traps no other fcntl command) and flock on an fd of a pod file's local
/// copy are taken by the agent on the pod file itself, so pod processes and the program see each
/// other's locks. Every other fd continues (the kernel does it).
/// <code>
///   fcntl(fd, F_SETLK, &amp;fl) ─► /proc/TID/fd/FD in the cache tree? ─no─► continue
///        F_UNLCK: push unsent writes first ─► LockAsync(owner) ─► granted: refresh the copy if the pod changed ─► 0
///                                                               └► EAGAIN / the pod's errno
///   close(fd) ─► (write-through) ─► release the owners the fd ends ─► continue
///   a process gone (checked every 250 ms while it holds locks) ─► release its owners
/// </code>
/// Owners, as Linux keeps them: a POSIX lock belongs to (process, file) — Linux drops all of a
/// process's locks on a file when it closes any fd of that file, and at exit; an OFD lock or flock
/// belongs to the open file description, approximated by (process, fd number): a dup'ed or
/// inherited fd counts as another owner, and the lock goes when the fd it was taken through closes.
/// A waiting lock (F_SETLKW, flock without LOCK_NB) waits in the agent and is given up when the
/// program's call no longer waits for an answer (its notification is no longer valid, checked every
/// 100 ms: the thread was killed; a caught signal does not end it, since trapped calls wait
/// killable-only once received), or when its owner is released (the process exited).
/// </summary>
internal sealed class LockHandler : ISyscallHandler, IDisposable
{
    private const int SeekSet = 0, SeekCurrent = 1, SeekEnd = 2;
    private static readonly TimeSpan ExitCheck = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan ValidCheck = TimeSpan.FromMilliseconds(100);

    private readonly IFileSync _files;
    private readonly IRemote _remote;
    private readonly WriteThroughHandler? _writeThrough;
    private readonly Timer _exits;

    // process → owner → (pod path, fd: -1 for a POSIX owner)
    private readonly ConcurrentDictionary<int, ConcurrentDictionary<string, (string Path, int Fd)>> _owners = new();

    public LockHandler(IFileSync files, IRemote remote, WriteThroughHandler? writeThrough)
    {
        _files = files;
        _remote = remote;
        _writeThrough = writeThrough;
        _exits = new Timer(_ => ReleaseExited(), null, ExitCheck, ExitCheck);
    }

    public IEnumerable<int> SyscallNumbers => [SyscallNumber.Fcntl, SyscallNumber.Flock, SyscallNumber.Close];

    /// <summary>How many program processes hold pod locks (for tests).</summary>
    internal int Holders => _owners.Count;

    public ValueTask<HandlerResult> HandleAsync(Notification n, CancellationToken cancellationToken)
    {
        if (n.Nr == SyscallNumber.Close)
        {
            return _owners.IsEmpty ? (_writeThrough?.HandleAsync(n, cancellationToken) ?? new(n.Continue())) : CloseAsync(n, cancellationToken);
        }

        if (n.Nr == SyscallNumber.Fcntl && !FileLocks.IsLockCommand(n.ArgInt(1)))
        {
            return new(n.Continue()); // not trapped by the filter; kept for a filter without the check
        }

        var path = FdLinks.PodPath(_files, n.ThreadId, n.ArgInt(0));
        if (path is null || ProcessDetails.ThreadGroup(n.ThreadId) is not { } process)
        {
            return new(n.Continue());
        }

        return n.Nr == SyscallNumber.Flock ? FlockAsync(n, process, path, cancellationToken) : FcntlAsync(n, process, path, cancellationToken);
    }

    public void Dispose() => _exits.Dispose();

    private async ValueTask<HandlerResult> FcntlAsync(Notification n, int process, string path, CancellationToken cancellationToken)
    {
        var command = n.ArgInt(1);
        var fd = n.ArgInt(0);
        var buffer = new byte[FileLocks.FlockSize];
        if (!n.Read(n.Arg(2), buffer))
        {
            return n.Fail(Errno.EFAULT);
        }

        var asked = FileLocks.Read(buffer);
        var ofd = command is FileLocks.OfdGetLock or FileLocks.OfdSetLock or FileLocks.OfdSetLockWait;
        var test = command is FileLocks.GetLock or FileLocks.OfdGetLock;
        if ((ofd && asked.Pid != 0) || asked.Type is < FileLocks.ReadLock or > FileLocks.Unlock || (test && asked.Type == FileLocks.Unlock))
        {
            return n.Fail(Errno.EINVAL);
        }

        if (Absolute(n.ThreadId, fd, asked) is not { } range)
        {
            return n.Fail(Errno.EINVAL);
        }

        var owner = ofd ? $"ofd:{process}:{fd}" : $"posix:{process}:{path}";
        var request = new RemoteLock(ofd ? RemoteLockKind.Ofd : RemoteLockKind.Posix, owner, asked.Type, range.Start, range.Length, command is FileLocks.SetLockWait or FileLocks.OfdSetLockWait, test);
        var (errno, conflict) = await LockAsync(n, process, path, ofd ? fd : -1, request, cancellationToken).ConfigureAwait(false);
        if (errno != 0 || !test)
        {
            return errno == 0 ? n.Return(0) : n.Fail(errno);
        }

        // F_GETLK: the conflicting lock from the file's start, or only l_type = F_UNLCK (as Linux does).
        var answer = conflict is { } c ? new LockRange(c.Type, SeekSet, c.Start, c.Length, c.Pid) : asked with { Type = FileLocks.Unlock };
        FileLocks.Write(buffer, answer);
        if (!n.IsValid())
        {
            return n.Continue();
        }

        return n.Write(n.Arg(2), buffer) ? n.Return(0) : n.Fail(Errno.EFAULT);
    }

    private async ValueTask<HandlerResult> FlockAsync(Notification n, int process, string path, CancellationToken cancellationToken)
    {
        var operation = n.ArgInt(1);
        short? type = (operation & ~FileLocks.NonBlocking) switch
        {
            FileLocks.Shared => FileLocks.ReadLock,
            FileLocks.Exclusive => FileLocks.WriteLock,
            FileLocks.UnlockAll => FileLocks.Unlock,
            _ => null,
        };
        if (type is null)
        {
            return n.Fail(Errno.EINVAL);
        }

        var fd = n.ArgInt(0);
        var request = new RemoteLock(RemoteLockKind.Flock, $"flock:{process}:{fd}", type.Value, 0, 0, (operation & FileLocks.NonBlocking) == 0, Test: false);
        var (errno, _) = await LockAsync(n, process, path, fd, request, cancellationToken).ConfigureAwait(false);
        return errno == 0 ? n.Return(0) : n.Fail(errno);
    }

    /// <summary>The lock call with its consistency points: unsent writes before an unlock, a refresh after a lock.</summary>
    private async ValueTask<(int Errno, LockRange? Conflict)> LockAsync(Notification n, int process, string path, int fd, RemoteLock request, CancellationToken cancellationToken)
    {
        var unlock = !request.Test && request.Type == FileLocks.Unlock;
        _files.LockRequested(path);
        try
        {
            if (unlock)
            {
                await _files.PushBeforeUnlockAsync(path, cancellationToken).ConfigureAwait(false);
            }
            else if (!request.Test)
            {
                // Known before the call: a process that exits while it waits still has its lock released.
                _owners.GetOrAdd(process, _ => new()).TryAdd(request.Owner, (path, fd));
            }

            // A granted lock's answer carries the pod file's stat where the agent sends it: the
            // refresh check then costs no call of its own.
            var outcome = request.Wait
                ? await WhileValidAsync(n, c => _remote.LockAndStatAsync(path, request, c), cancellationToken).ConfigureAwait(false)
                : await _remote.LockAndStatAsync(path, request, cancellationToken).ConfigureAwait(false);
            if (!request.Test && !unlock)
            {
                await _files.RefreshAtLockAsync(path, outcome.Stat, cancellationToken).ConfigureAwait(false);
            }

            return (0, outcome.Conflict);
        }
        catch (RemoteFileException e)
        {
            return (e.Errno, null);
        }
        catch (IOException)
        {
            return (Errno.EIO, null); // a push before the unlock failed: told to the user by the file sync
        }
        catch (InterruptedWaitException e)
        {
            return (e.Errno, null); // a signal came while the program's call waited
        }
    }

    /// <summary>
    /// Runs a waiting call (F_SETLKW, flock without LOCK_NB) and cancels it when the program's call is
    /// no longer waiting for an answer (its thread was killed) or a signal it would handle is
    /// pending: the kernel's lock wait is interruptible (fs/locks.c returns ERESTARTSYS), so the
    /// handler runs now and the call restarts or fails with EINTR as the handler's SA_RESTART says.
    /// </summary>
    /// <exception cref="InterruptedWaitException">The wait was given up; its errno is the call's answer.</exception>
    private static async ValueTask<T> WhileValidAsync<T>(Notification n, Func<CancellationToken, ValueTask<T>> call, CancellationToken cancellationToken)
    {
        using var interrupted = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var task = call(interrupted.Token).AsTask();
        var errno = 0;
        while (await Task.WhenAny(task, Task.Delay(ValidCheck, cancellationToken)).ConfigureAwait(false) != task)
        {
            if (!n.IsValid())
            {
                errno = Errno.EINTR; // nobody reads it: the thread is gone
            }
            else if (PendingSignals.InterruptErrno(n.ThreadId) is { } interrupt)
            {
                errno = interrupt;
            }

            if (errno != 0)
            {
                await interrupted.CancelAsync().ConfigureAwait(false);
                break;
            }
        }

        try
        {
            return await task.ConfigureAwait(false);
        }
        catch (Exception e) when (e is not RemoteFileException && !cancellationToken.IsCancellationRequested && (errno != 0 || !n.IsValid()))
        {
            // The cancelled call's end (OperationCanceledException, or gRPC's Cancelled from the
            // remote side), or a call the session ended because the waiting process died (its
            // locks are dropped at its exit) before this loop saw it gone: nobody reads the answer.
            throw new InterruptedWaitException(errno != 0 ? errno : Errno.EINTR, e);
        }
    }

    /// <summary>A waiting lock call given up for a signal or a killed thread; <see cref="Errno"/> is the program's answer.</summary>
    private sealed class InterruptedWaitException(int errno, Exception inner) : Exception("The waiting lock call was interrupted.", inner)
    {
        public int Errno { get; } = errno;
    }

    /// <summary>
    /// The range from the file's start: l_whence SEEK_CUR counts from the fd's offset
    /// (/proc/TID/fdinfo/FD "pos:"), SEEK_END from the local copy's size (the program's view); a
    /// negative l_len covers the bytes before l_start (fcntl(2)). Null: EINVAL.
    /// </summary>
    private static LockRange? Absolute(int threadId, int fd, LockRange range)
    {
        long origin;
        switch (range.Whence)
        {
            case SeekSet:
                origin = 0;
                break;
            case SeekCurrent:
                origin = Position(threadId, fd) ?? -1;
                break;
            case SeekEnd:
                origin = RootedFiles.Stat($"/proc/{threadId}/fd/{fd}", followSymlinks: true, out var info) == 0 ? (long)info.Size : -1;
                break;
            default:
                return null;
        }

        if (origin < 0)
        {
            return null;
        }

        var start = origin + range.Start;
        var length = range.Length;
        if (length < 0)
        {
            start += length;
            length = -length;
        }

        return start < 0 ? null : range with { Whence = SeekSet, Start = start, Length = length };
    }

    private static long? Position(int threadId, int fd)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{threadId}/fdinfo/{fd}"))
            {
                if (line.StartsWith("pos:", StringComparison.Ordinal))
                {
                    return long.Parse(line.AsSpan(4).Trim(), CultureInfo.InvariantCulture);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            // The fd or the caller has gone.
        }

        return null;
    }

    /// <summary>
    /// close: the write-through first (a failed send keeps the fd open and its locks held, EIO),
    /// then the owners the close ends: the process's POSIX locks on the file, the fd's OFD lock and flock.
    /// </summary>
    private async ValueTask<HandlerResult> CloseAsync(Notification n, CancellationToken cancellationToken)
    {
        var fd = n.ArgInt(0);
        var path = FdLinks.PodPath(_files, n.ThreadId, fd);
        if (_writeThrough is not null)
        {
            var pushed = await _writeThrough.HandleAsync(n, path, cancellationToken).ConfigureAwait(false);
            if (pushed.Response is { } response && response.Error != 0)
            {
                return pushed;
            }
        }

        if (path is not null && ProcessDetails.ThreadGroup(n.ThreadId) is { } process && _owners.TryGetValue(process, out var owned))
        {
            var ended = owned.Where(o => o.Value.Fd == fd || (o.Value.Fd < 0 && o.Value.Path == path)).Select(o => o.Key).ToList();
            await ReleaseAsync(process, owned, ended, cancellationToken).ConfigureAwait(false);
        }

        return n.Continue();
    }

    private async Task ReleaseAsync(int process, ConcurrentDictionary<string, (string Path, int Fd)> owned, List<string> ended, CancellationToken cancellationToken)
    {
        if (ended.Count == 0)
        {
            return;
        }

        foreach (var owner in ended)
        {
            owned.TryRemove(owner, out _);
        }

        if (owned.IsEmpty)
        {
            _owners.TryRemove(KeyValuePair.Create(process, owned));
        }

        try
        {
            await _remote.ReleaseLocksAsync(ended, cancellationToken).ConfigureAwait(false);
        }
        catch (RemoteFileException)
        {
            // The agent is gone or its connection broke: its locks went with it.
        }
    }

    private void ReleaseExited()
    {
        foreach (var (process, owned) in _owners)
        {
            if (!ProcessDetails.IsAlive(process))
            {
                _ = ReleaseAsync(process, owned, [.. owned.Keys], CancellationToken.None);
            }
        }
    }
}
