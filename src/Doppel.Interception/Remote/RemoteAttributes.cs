namespace Doppel.Interception.Remote;

/// <summary>
/// Metadata changes for <see cref="IRemote.SetAttributesAsync"/> (chmod, chown, utimensat and the
/// mode and times a written file carries back); null members stay as they are.
/// </summary>
public sealed record RemoteAttributes
{
    /// <summary>Permission bits (07777), without the file type.</summary>
    public int? Mode { get; init; }

    public int? Uid { get; init; }

    public int? Gid { get; init; }

    public DateTimeOffset? LastAccessTime { get; init; }

    public DateTimeOffset? LastWriteTime { get; init; }
}
