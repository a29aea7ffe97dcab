using System.Text;

namespace Doppel.Linux.Sockets;

/// <summary>
/// Where doppel puts its unix sockets: the temp directory (<c>$TMPDIR</c>), unless a socket there
/// would not fit a <c>sockaddr_un</c> — whose <c>sun_path</c> holds 108 bytes with the
/// terminating NUL (unix(7)), so 107 — then <c>/tmp</c>. A long <c>$TMPDIR</c> (a CI runner's,
/// a nested build directory) would otherwise fail every session with "invalid length for use with
/// domain sockets".
/// </summary>
public static class UnixSocketDirectory
{
    /// <summary>The longest path a unix socket may have, in bytes (unix(7): sun_path is 108 bytes, NUL included).</summary>
    public const int MaxPathBytes = 107;

    /// <summary>
    /// The directory in which a path of <paramref name="room"/> more bytes (a separator and the
    /// longest name the caller puts there) still fits <see cref="MaxPathBytes"/>: the temp directory,
    /// else <c>/tmp</c>.
    /// </summary>
    public static string For(int room)
    {
        var temp = Path.GetTempPath().TrimEnd('/');
        return temp.Length > 0 && Encoding.UTF8.GetByteCount(temp) + room <= MaxPathBytes ? temp : "/tmp";
    }
}
