using System.Runtime.InteropServices;
using System.Text;

namespace Doppel.Linux.Native;

/// <summary>Strings in native memory, for calls made where managed allocation must not happen (before execve).</summary>
internal static unsafe class NativeStrings
{
    /// <summary>
    /// <paramref name="s"/> as NUL-terminated UTF-8 in memory from <see cref="NativeMemory.Alloc(nuint)"/>;
    /// never freed by callers that exec right after (the image is replaced).
    /// </summary>
    public static byte* Utf8Z(string s)
    {
        var length = Encoding.UTF8.GetByteCount(s);
        var p = (byte*)NativeMemory.Alloc((nuint)length + 1);
        Encoding.UTF8.GetBytes(s, new Span<byte>(p, length));
        p[length] = 0;
        return p;
    }
}
