using Doppel.Linux.Files;
using Doppel.Linux.Native;
using Microsoft.Win32.SafeHandles;

namespace Doppel.Agent.Files;

/// <summary>
/// The locks sessions hold on the target's files (files.proto, Lock and ReleaseLocks). Each owner a
/// session names gets an fd of its own on the file, per HTTP/2 connection; the locks are taken on
/// that fd — OFD locks for fcntl (they conflict with pod processes' classic POSIX locks and with every
/// other open file description, even inside this process), flock(2) for flock — so the kernel keeps
/// the pod's rules and drops an owner's locks when its fd closes:
/// <code>
///   Lock(owner, path) ──► (connection, owner) → fd (opened O_RDWR, else O_RDONLY) ──► F_OFD_SETLK / F_OFD_GETLK / flock(LOCK_NB)
///   wait ──► the same again every 1 ms, doubling up to 50 ms, until granted or the call is cancelled
///   ReleaseLocks(owners) / connection closed ──► close the fds: the kernel drops their locks
/// </code>
/// A waiting lock holds no thread: it is a loop of non-blocking attempts with delays.
/// </summary>
internal sealed class PodLocks
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(1);
    private static readonly TimeSpan LongestRetry = TimeSpan.FromMilliseconds(50);

    private readonly Lock _lock = new();
    private readonly Dictionary<(string Connection, string Owner), SafeFileHandle> _fds = [];

    /// <summary>How many owners hold an fd (for tests and status).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _fds.Count;
            }
        }
    }

    /// <summary>
    /// Sets or tests a lock for <paramref name="owner"/> of <paramref name="connection"/> on
    /// <paramref name="path"/>. <paramref name="flock"/> takes a whole-file lock (type read: LOCK_SH,
    /// write: LOCK_EX, unlock: LOCK_UN); otherwise an OFD lock on <paramref name="range"/> (from the
    /// file's start). Returns 0 or the errno (EAGAIN: a conflict); a test writes the conflicting lock
    /// (or F_UNLCK) into <paramref name="range"/>.
    /// </summary>
    public async Task<(int Errno, LockRange Range)> LockAsync(TargetRoot root, string connection, string owner, string path, bool flock, LockRange range, bool test, bool wait, CancellationToken cancellationToken)
    {
        var fd = FdOf(root, connection, owner, path, out var errno);
        if (fd is null)
        {
            return (errno, range);
        }

        var delay = FirstRetry;
        while (true)
        {
            errno = Attempt(fd, flock, test, ref range);
            if (!wait || errno is not (Errno.EAGAIN or Errno.EACCES))
            {
                return (errno, range);
            }

            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, LongestRetry.Ticks));

            // Released meanwhile (its process closed the file or exited, its connection closed): the
            // wait ends, and never on an fd number that another owner's open has taken since.
            lock (_lock)
            {
                if (!_fds.TryGetValue((connection, owner), out var current) || current != fd)
                {
                    return (Errno.EINTR, range);
                }
            }
        }
    }

    /// <summary>Closes the fds of <paramref name="owners"/> of <paramref name="connection"/>: the kernel drops their locks.</summary>
    public void Release(string connection, IEnumerable<string> owners)
    {
        lock (_lock)
        {
            foreach (var owner in owners)
            {
                if (_fds.Remove((connection, owner), out var fd))
                {
                    fd.Dispose();
                }
            }
        }
    }

    /// <summary>A connection closed (the session ended or its transport broke): every lock it held goes.</summary>
    public void ConnectionClosed(string connection)
    {
        lock (_lock)
        {
            foreach (var key in _fds.Keys.Where(k => k.Connection == connection).ToList())
            {
                _fds.Remove(key, out var fd);
                fd!.Dispose();
            }
        }
    }

    private static int Attempt(SafeFileHandle fd, bool flock, bool test, ref LockRange range)
    {
        // Held for the call: a release meanwhile closes the fd after it, not under it.
        var added = false;
        try
        {
            fd.DangerousAddRef(ref added);
            return AttemptHeld(fd, flock, test, ref range);
        }
        catch (ObjectDisposedException)
        {
            return Errno.EINTR; // released before the call
        }
        finally
        {
            if (added)
            {
                fd.DangerousRelease();
            }
        }
    }

    private static int AttemptHeld(SafeFileHandle fd, bool flock, bool test, ref LockRange range)
    {
        if (flock)
        {
            var operation = range.Type switch
            {
                FileLocks.ReadLock => FileLocks.Shared,
                FileLocks.WriteLock => FileLocks.Exclusive,
                _ => FileLocks.UnlockAll,
            };
            return FileLocks.Flock(fd, operation | FileLocks.NonBlocking);
        }

        // OFD locks want l_pid 0 and a SEEK_SET range here.
        range = range with { Whence = 0, Pid = 0 };
        return FileLocks.Fcntl(fd, test ? FileLocks.OfdGetLock : FileLocks.OfdSetLock, ref range);
    }

    private SafeFileHandle? FdOf(TargetRoot root, string connection, string owner, string path, out int errno)
    {
        errno = 0;
        lock (_lock)
        {
            if (_fds.TryGetValue((connection, owner), out var known))
            {
                return known;
            }
        }

        // Read and write where the pod allows it, so both lock types can be taken; read-only
        // otherwise (a write lock then fails with EBADF, as on a read-only fd).
        var fd = root.Open(path, OpenFlags.ReadWrite, out errno);
        if (fd is null && errno is Errno.EACCES or Errno.EROFS or Errno.EPERM)
        {
            fd = root.Open(path, OpenFlags.ReadOnly, out errno);
        }

        if (fd is null)
        {
            return null;
        }

        lock (_lock)
        {
            if (_fds.TryGetValue((connection, owner), out var raced))
            {
                fd.Dispose();
                return raced;
            }

            _fds[(connection, owner)] = fd;
            return fd;
        }
    }
}
