namespace Doppel.Interception.Policy;

/// <summary>What a file syscall wants to do with a path.</summary>
public enum FileIntent
{
    /// <summary>stat, access, readlink, xattr reads, opening for reading, listing a directory.</summary>
    Read,

    /// <summary>Opening for writing, creating, removing, renaming, truncating, changing mode, owner or times.</summary>
    Write,
}
