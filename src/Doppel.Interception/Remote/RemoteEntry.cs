namespace Doppel.Interception.Remote;

/// <summary>Metadata of one remote file system entry, as stat/lstat sees it on the remote side.</summary>
/// <param name="Name">The entry's file name (last path component).</param>
/// <param name="Mode">Permission bits (07777), without the file type.</param>
/// <param name="LinkTarget">For symlinks: the target as stored (readlink).</param>
/// <param name="Blocks">512-byte blocks allocated (st_blocks); null: computed from the size.</param>
public sealed record RemoteEntry(
    string Name,
    RemoteEntryKind Kind,
    int Mode,
    int Uid,
    int Gid,
    long Size,
    DateTimeOffset LastWriteTime,
    DateTimeOffset LastAccessTime,
    string? LinkTarget = null,
    long? Blocks = null);
