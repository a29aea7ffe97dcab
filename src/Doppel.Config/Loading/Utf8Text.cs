using System.Text;

namespace Doppel.Config.Loading;

/// <summary>
/// Decodes a file that must be UTF-8, as mirrord's readers (serde, dotenvy) require; .NET would quietly
/// read a UTF-16 file that mirrord rejects, or turn bad bytes into U+FFFD.
/// </summary>
public static class Utf8Text
{
    /// <summary>
    /// The text of <paramref name="bytes"/> without a leading UTF-8 byte-order mark; null, with
    /// <paramref name="problem"/> the end of a sentence about the file ("is UTF-16 …; save it as UTF-8."),
    /// when the bytes start with a UTF-16 byte-order mark (FF FE or FE FF) or are not UTF-8.
    /// </summary>
    public static string? TryDecode(byte[] bytes, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        problem = null;
        if (bytes is [0xFF, 0xFE, ..] or [0xFE, 0xFF, ..])
        {
            problem = "is UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8.";
            return null;
        }

        var start = bytes is [0xEF, 0xBB, 0xBF, ..] ? 3 : 0;
        try
        {
            return new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes, start, bytes.Length - start);
        }
        catch (DecoderFallbackException)
        {
            problem = "is not UTF-8 text; save it as UTF-8.";
            return null;
        }
    }
}
