using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace Doppel.Config.Filters;

/// <summary>
/// Parses outgoing/DNS filter entries: <c>[proto://][name|ip|cidr][:port]</c>, with IPv6 in
/// brackets when a port follows (<c>tcp://[2001:db8::1]:443</c>).
/// </summary>
public static partial class AddressFilterParser
{
    public const string Form = "[tcp://|udp://][NAME|IP|CIDR][:PORT], e.g. tcp://db.default.svc:5432, 10.0.0.0/8, :53";

    public static AddressFilter? TryParse(string text, out string? error)
    {
        error = null;
        var rest = text.Trim();
        var protocol = FilterProtocol.Any;
        var scheme = rest.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            var word = rest[..scheme];
            if (word.Equals("tcp", StringComparison.OrdinalIgnoreCase))
            {
                protocol = FilterProtocol.Tcp;
            }
            else if (word.Equals("udp", StringComparison.OrdinalIgnoreCase))
            {
                protocol = FilterProtocol.Udp;
            }
            else
            {
                error = $"'{text}' has protocol '{word}'; only tcp:// and udp:// are known ({Form}).";
                return null;
            }

            rest = rest[(scheme + 3)..];
        }

        string host;
        string? portText = null;
        if (rest.StartsWith('['))
        {
            var close = rest.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                error = $"'{text}' opens '[' without closing it ({Form}).";
                return null;
            }

            host = rest[1..close];
            var after = rest[(close + 1)..];
            if (after.Length > 0)
            {
                if (after[0] != ':')
                {
                    error = $"'{text}' has '{after}' after the bracketed address; only :PORT may follow ({Form}).";
                    return null;
                }

                portText = after[1..];
            }
        }
        else if (rest.Count(c => c == ':') > 1)
        {
            host = rest; // bare IPv6 address or network, no port
        }
        else
        {
            var colon = rest.LastIndexOf(':');
            host = colon < 0 ? rest : rest[..colon];
            portText = colon < 0 ? null : rest[(colon + 1)..];
        }

        int? port = null;
        if (portText is not null)
        {
            if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p is < 1 or > 65535)
            {
                error = $"'{text}' has port '{portText}'; a port is a number from 1 to 65535.";
                return null;
            }

            port = p;
        }

        if (host.Length == 0)
        {
            if (port is null)
            {
                error = $"'{text}' names neither a host nor a port ({Form}).";
                return null;
            }

            return new AddressFilter { Protocol = protocol, Port = port, Text = text };
        }

        if (host.Contains('/', StringComparison.Ordinal))
        {
            if (Network(host) is not { } network)
            {
                error = $"'{host}' in '{text}' is not a valid network; write ADDRESS/PREFIX, e.g. 10.0.0.0/8 or fd00::/8.";
                return null;
            }

            return new AddressFilter { Protocol = protocol, Network = network, Port = port, Text = text };
        }

        if (IPAddress.TryParse(host, out var address) && (host.Contains(':', StringComparison.Ordinal) || IPv4Dotted().IsMatch(host)))
        {
            var bits = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? 128 : 32;
            return new AddressFilter { Protocol = protocol, Network = new IPNetwork(address, bits), Port = port, Text = text };
        }

        if (!HostName().IsMatch(host))
        {
            error = $"'{host}' in '{text}' is neither an address, a network nor a host name ({Form}).";
            return null;
        }

        return new AddressFilter { Protocol = protocol, Name = host.ToLowerInvariant(), Port = port, Text = text };
    }

    /// <summary>
    /// ADDRESS/PREFIX as the network it names: host bits that are set are cleared, so
    /// <c>127.0.0.1/8</c> is <c>127.0.0.0/8</c>. mirrord reads such entries this way (its ipnet
    /// parser keeps the address and matches by prefix), and people write them.
    /// </summary>
    private static IPNetwork? Network(string text)
    {
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (!IPAddress.TryParse(text[..slash], out var address)
            || !(text[..slash].Contains(':', StringComparison.Ordinal) || IPv4Dotted().IsMatch(text[..slash]))
            || !int.TryParse(text[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var prefix))
        {
            return null;
        }

        var bytes = address.GetAddressBytes();
        if (prefix > bytes.Length * 8)
        {
            return null;
        }

        for (var bit = prefix; bit < bytes.Length * 8; bit++)
        {
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        }

        return new IPNetwork(new IPAddress(bytes), prefix);
    }

    [GeneratedRegex(@"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$")]
    private static partial Regex IPv4Dotted();

    [GeneratedRegex(@"^(\*\.)?[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$")]
    private static partial Regex HostName();
}
