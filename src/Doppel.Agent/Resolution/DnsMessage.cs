using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace Doppel.Agent.Resolution;

/// <summary>
/// The few DNS wire-format pieces a stub resolver needs (RFC 1035): a recursive query for one
/// name and type, and the answer section of a response (A, AAAA, CNAME; compressed names).
/// NuGet's DNS libraries own their sockets; this one lets the agent use sockets from the
/// target's network namespace.
/// </summary>
internal static class DnsMessage
{
    public const ushort TypeA = 1;
    public const ushort TypeCname = 5;
    public const ushort TypeAaaa = 28;
    private const ushort ClassIn = 1;
    private const int HeaderSize = 12;

    /// <summary>A query with RD set; false when the name cannot be encoded (a label over 63 bytes, the name over 253).</summary>
    public static bool TryEncodeQuery(ushort id, string name, ushort type, out byte[] query)
    {
        var ascii = Encoding.ASCII.GetBytes(name.TrimEnd('.'));
        query = [];
        if (ascii.Length is 0 or > 253)
        {
            return false;
        }

        var message = new byte[HeaderSize + ascii.Length + 2 + 4];
        BinaryPrimitives.WriteUInt16BigEndian(message, id);
        message[2] = 0x01; // RD
        message[5] = 1; // QDCOUNT
        var at = HeaderSize;
        foreach (var label in name.TrimEnd('.').Split('.'))
        {
            if (label.Length is 0 or > 63)
            {
                return false;
            }

            message[at++] = (byte)label.Length;
            at += Encoding.ASCII.GetBytes(label, message.AsSpan(at));
        }

        message[at++] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(at), type);
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(at + 2), ClassIn);
        query = message;
        return true;
    }

    /// <summary>
    /// Parses a response to the query <paramref name="id"/> for <paramref name="name"/>; null when
    /// it is not one (wrong id, not a response, malformed), so the caller keeps waiting.
    /// </summary>
    public static DnsAnswer? ParseResponse(ReadOnlySpan<byte> message, ushort id, string name, ushort type)
    {
        try
        {
            return Parse(message, id, name.TrimEnd('.'), type);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static DnsAnswer? Parse(ReadOnlySpan<byte> message, ushort id, string name, ushort type)
    {
        if (message.Length < HeaderSize || BinaryPrimitives.ReadUInt16BigEndian(message) != id || (message[2] & 0x80) == 0)
        {
            return null;
        }

        var truncated = (message[2] & 0x02) != 0;
        var rcode = message[3] & 0x0F;
        var questions = BinaryPrimitives.ReadUInt16BigEndian(message[4..]);
        var answers = BinaryPrimitives.ReadUInt16BigEndian(message[6..]);
        var at = HeaderSize;
        for (var i = 0; i < questions; i++)
        {
            var question = ReadName(message, ref at);
            if (i == 0 && !string.Equals(question, name, StringComparison.OrdinalIgnoreCase))
            {
                return null; // an answer to some other query
            }

            at += 4;
        }

        var records = new List<(string Owner, ushort Type, byte[] Data, string? Target)>();
        for (var i = 0; i < answers && !truncated; i++)
        {
            var owner = ReadName(message, ref at);
            Need(message, at + 10);
            var recordType = BinaryPrimitives.ReadUInt16BigEndian(message[at..]);
            var length = BinaryPrimitives.ReadUInt16BigEndian(message[(at + 8)..]);
            at += 10;
            Need(message, at + length);
            var start = at;
            var target = recordType == TypeCname ? ReadName(message, ref start) : null;
            records.Add((owner, recordType, message.Slice(at, length).ToArray(), target));
            at += length;
        }

        // Follow the CNAME chain from the asked name; the addresses belong to its end.
        var canonical = name;
        for (var hops = 0; hops < 16; hops++)
        {
            var alias = records.FirstOrDefault(r => r.Type == TypeCname && string.Equals(r.Owner, canonical, StringComparison.OrdinalIgnoreCase));
            if (alias.Target is null)
            {
                break;
            }

            canonical = alias.Target;
        }

        var size = type == TypeA ? 4 : 16;
        var addresses = records
            .Where(r => r.Type == type && r.Data.Length == size && string.Equals(r.Owner, canonical, StringComparison.OrdinalIgnoreCase))
            .Select(r => new IPAddress(r.Data))
            .ToList();
        return new DnsAnswer(rcode, truncated, addresses, canonical);
    }

    private static string ReadName(ReadOnlySpan<byte> message, ref int at)
    {
        var name = new StringBuilder();
        var position = at;
        var jumped = false;
        for (var hops = 0; ; hops++)
        {
            Need(message, position + 1);
            var length = message[position];
            if (length == 0)
            {
                position++;
                break;
            }

            if ((length & 0xC0) == 0xC0)
            {
                Need(message, position + 2);
                if (hops > 64)
                {
                    throw new FormatException("A compressed name loops.");
                }

                if (!jumped)
                {
                    at = position + 2;
                    jumped = true;
                }

                position = BinaryPrimitives.ReadUInt16BigEndian(message[position..]) & 0x3FFF;
                continue;
            }

            Need(message, position + 1 + length);
            if (name.Length > 0)
            {
                name.Append('.');
            }

            name.Append(Encoding.ASCII.GetString(message.Slice(position + 1, length)));
            position += 1 + length;
        }

        if (!jumped)
        {
            at = position;
        }

        return name.ToString();
    }

    private static void Need(ReadOnlySpan<byte> message, int end)
    {
        if (end > message.Length)
        {
            throw new FormatException("The DNS message ends early.");
        }
    }
}
