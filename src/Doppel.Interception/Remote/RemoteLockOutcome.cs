namespace Doppel.Interception.Remote;

/// <summary>
/// The answer to <see cref="IRemote.LockAndStatAsync"/>: the conflicting lock for a test (null: the
/// range is free, or not a test), and for a granted lock the remote file's stat taken right after it
/// (null: not sent, so the caller asks with <see cref="IRemote.GetEntryAsync"/> itself).
/// </summary>
public sealed record RemoteLockOutcome(Doppel.Linux.Files.LockRange? Conflict, RemoteEntry? Stat);
