namespace Doppel.Interception.Remote;

/// <summary>
/// A lock call to make on a pod file (<see cref="IRemote.LockAsync"/>). <see cref="Owner"/> names
/// whose lock it is on the program's side (the remote side keeps one open file per owner);
/// <see cref="Type"/> is F_RDLCK 0, F_WRLCK 1 or F_UNLCK 2 (flock: LOCK_SH, LOCK_EX, LOCK_UN);
/// <see cref="Start"/> and <see cref="Length"/> are bytes from the file's start (length 0: to the end
/// and beyond; ignored for flock). <see cref="Wait"/>: wait until granted (F_SETLKW, flock without
/// LOCK_NB); <see cref="Test"/>: F_GETLK, nothing taken.
/// </summary>
public sealed record RemoteLock(RemoteLockKind Kind, string Owner, short Type, long Start, long Length, bool Wait, bool Test);
