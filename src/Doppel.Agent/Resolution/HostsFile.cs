using System.Net;
using System.Net.Sockets;

namespace Doppel.Agent.Resolution;

/// <summary>Lookups in an <c>/etc/hosts</c> text the way glibc's "files" source does: exact name or alias, any case, file order.</summary>
internal static class HostsFile
{
    /// <summary>The addresses of <paramref name="name"/> of the wanted families and the canonical name (the first name of the first matching line).</summary>
    public static (IReadOnlyList<IPAddress> Addresses, string CanonicalName) Lookup(string? text, string name, bool ipv4, bool ipv6)
    {
        var addresses = new List<IPAddress>();
        var canonical = string.Empty;
        foreach (var raw in (text ?? string.Empty).Split('\n'))
        {
            var hash = raw.IndexOf('#', StringComparison.Ordinal);
            var words = (hash < 0 ? raw : raw[..hash]).Split([' ', '\t', '\r'], StringSplitOptions.RemoveEmptyEntries);
            if (words.Length < 2 || !IPAddress.TryParse(words[0], out var address)
                || !words.Skip(1).Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }

            var wanted = address.AddressFamily == AddressFamily.InterNetwork ? ipv4 : ipv6;
            if (wanted && !addresses.Contains(address))
            {
                addresses.Add(address);
                if (canonical.Length == 0)
                {
                    canonical = words[1];
                }
            }
        }

        return (addresses, canonical);
    }
}
