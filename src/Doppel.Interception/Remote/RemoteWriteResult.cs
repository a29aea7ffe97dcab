namespace Doppel.Interception.Remote;

/// <summary>
/// What an in-place write-back found and left (<see cref="IRemote.WriteChangesAsync"/>): the remote
/// file's stat right before its first byte and right after its last. When <paramref name="Before"/>
/// is the stat the caller last knew the file by, no other process changed it in between, and the
/// remote file now holds exactly what was sent onto what the caller knew (NFS's weak cache
/// consistency, RFC 1813 section 2.6 "wcc_data").
/// </summary>
/// <param name="Before">The file's stat after the open, before the write.</param>
/// <param name="After">The file's stat after the write, its length cut and its attributes set.</param>
public sealed record RemoteWriteResult(RemoteEntry Before, RemoteEntry After);
