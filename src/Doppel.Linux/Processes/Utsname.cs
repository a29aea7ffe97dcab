using System.Text;
using System.Text.Unicode;

namespace Doppel.Linux.Processes;

/// <summary>
/// The layout of the <c>struct utsname</c> uname(2) fills (the kernel's <c>struct new_utsname</c>,
/// include/uapi/linux/utsname.h): six NUL-terminated fields of 65 bytes each, in this order.
/// </summary>
public static class Utsname
{
    /// <summary>The length of one field (__NEW_UTS_LEN + 1), bytes.</summary>
    public const int FieldLength = 65;

    /// <summary>The length of the whole struct, bytes.</summary>
    public const int Length = 6 * FieldLength;

    public const int SysnameOffset = 0;
    public const int NodenameOffset = 1 * FieldLength;
    public const int ReleaseOffset = 2 * FieldLength;
    public const int VersionOffset = 3 * FieldLength;
    public const int MachineOffset = 4 * FieldLength;
    public const int DomainnameOffset = 5 * FieldLength;

    /// <summary>The text of the field at <paramref name="offset"/> (up to its first NUL).</summary>
    public static string ReadField(ReadOnlySpan<byte> utsname, int offset)
    {
        var field = utsname.Slice(offset, FieldLength);
        var end = field.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? field : field[..end]);
    }

    /// <summary>
    /// Replaces the field at <paramref name="offset"/> with <paramref name="value"/>: UTF-8, cut to
    /// the 64 bytes that fit before the terminating NUL, the rest zeroed.
    /// </summary>
    public static void WriteField(Span<byte> utsname, int offset, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var field = utsname.Slice(offset, FieldLength);
        field.Clear();
        Utf8.FromUtf16(value, field[..^1], out _, out _);
    }
}
