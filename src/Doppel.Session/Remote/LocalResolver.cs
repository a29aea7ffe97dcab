using System.Net;

namespace Doppel.Session.Remote;

/// <summary>
/// The developer's own DNS server: the first <c>nameserver</c> of doppel's /etc/resolv.conf (the
/// program reads the target's file instead), or 127.0.0.1 when none is given, as resolv.conf(5) says.
/// </summary>
public static class LocalResolver
{
    public static IPEndPoint Nameserver(string resolvConf = "/etc/resolv.conf")
    {
        try
        {
            foreach (var line in File.ReadLines(resolvConf))
            {
                var words = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
                if (words.Length >= 2 && words[0] == "nameserver" && IPAddress.TryParse(words[1].Split('%')[0], out var address))
                {
                    return new IPEndPoint(address, 53);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No readable file: the resolver's default.
        }

        return new IPEndPoint(IPAddress.Loopback, 53);
    }
}
