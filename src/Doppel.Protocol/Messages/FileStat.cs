namespace Doppel.Protocol.V1;

/// <summary>File type helpers over <c>FileStat.mode</c> (st_mode).</summary>
public sealed partial class FileStat
{
    /// <summary>S_IFMT: the file type bits of st_mode.</summary>
    public const uint TypeMask = 0xF000;

    /// <summary>S_IFREG.</summary>
    public const uint TypeRegular = 0x8000;

    /// <summary>S_IFDIR.</summary>
    public const uint TypeDirectory = 0x4000;

    /// <summary>S_IFLNK.</summary>
    public const uint TypeSymlink = 0xA000;

    /// <summary>The permission bits (07777) of st_mode.</summary>
    public uint Permissions => Mode & 0xFFF;

    public bool IsRegularFile => (Mode & TypeMask) == TypeRegular;

    public bool IsDirectory => (Mode & TypeMask) == TypeDirectory;

    public bool IsSymlink => (Mode & TypeMask) == TypeSymlink;

    /// <summary>
    /// The last component of an absolute <paramref name="path"/>, what <c>name</c> carries in a stat of
    /// that path: "/" for the root; trailing slashes are ignored ("/a/b/" → "b").
    /// </summary>
    public static string NameOf(string path)
    {
        var trimmed = path.TrimEnd('/');
        return trimmed.Length == 0 ? "/" : trimmed[(trimmed.LastIndexOf('/') + 1)..];
    }
}
