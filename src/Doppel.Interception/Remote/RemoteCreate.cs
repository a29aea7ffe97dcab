namespace Doppel.Interception.Remote;

/// <summary>
/// The answer to <see cref="IRemote.CreateOrGetEntryAsync"/>: <see cref="Created"/> when the call
/// made a new empty file (and <see cref="Entry"/> is its stat), otherwise the path existed and was
/// left as it is (<see cref="Entry"/> is its stat, or its lstat when symlinks were not followed).
/// </summary>
public sealed record RemoteCreate(bool Created, RemoteEntry Entry);
