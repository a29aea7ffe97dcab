using System.Text;

namespace Doppel.Session.Remote;

/// <summary>The name a DNS query asks for (RFC 1035 §4.1: a 12-byte header, then the question's labels).</summary>
internal static class DnsQueryName
{
    private const int HeaderLength = 12;

    /// <summary>
    /// The first question's name, lower-case, without the final dot; null when the datagram is not
    /// a query with a question in plain labels (a response, a compressed or malformed name).
    /// </summary>
    public static string? TryRead(ReadOnlySpan<byte> message)
    {
        if (message.Length <= HeaderLength || (message[2] & 0x80) != 0 || ((message[4] << 8) | message[5]) == 0)
        {
            return null;
        }

        var name = new StringBuilder();
        for (var at = HeaderLength; at < message.Length;)
        {
            int length = message[at++];
            if (length == 0)
            {
                return name.ToString();
            }

            if (length > 63 || at + length > message.Length)
            {
                return null; // a compression pointer (not used in a question) or a cut message
            }

            if (name.Length > 0)
            {
                name.Append('.');
            }

            foreach (var b in message.Slice(at, length))
            {
                name.Append(b is >= (byte)'A' and <= (byte)'Z' ? (char)(b + 32) : (char)b);
            }

            at += length;
        }

        return null;
    }
}
