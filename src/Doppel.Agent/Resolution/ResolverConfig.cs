using System.Globalization;
using System.Net;

namespace Doppel.Agent.Resolution;

/// <summary>
/// What glibc takes from <c>/etc/resolv.conf</c>: up to three nameservers (127.0.0.1 when none),
/// the search list (the last <c>search</c> or <c>domain</c> line wins), and the options
/// <c>ndots</c> (default 1, at most 15), <c>timeout</c> (seconds per try, default 5, at most 30) and
/// <c>attempts</c> (rounds over the servers, default 2, at most 5).
/// </summary>
internal sealed record ResolverConfig
{
    public IReadOnlyList<IPEndPoint> Nameservers { get; init; } = [new(IPAddress.Loopback, 53)];

    public IReadOnlyList<string> Search { get; init; } = [];

    public int Ndots { get; init; } = 1;

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);

    public int Attempts { get; init; } = 2;

    /// <summary>Parses a resolv.conf; unknown lines and malformed values are ignored, as glibc does.</summary>
    public static ResolverConfig Parse(string? text)
    {
        var config = new ResolverConfig();
        if (text is null)
        {
            return config;
        }

        var servers = new List<IPEndPoint>();
        foreach (var raw in text.Split('\n'))
        {
            var words = raw.Split([' ', '\t', '\r'], StringSplitOptions.RemoveEmptyEntries);
            if (words.Length < 2 || words[0].StartsWith('#') || words[0].StartsWith(';'))
            {
                continue;
            }

            switch (words[0])
            {
                case "nameserver" when servers.Count < 3 && IPAddress.TryParse(words[1], out var address):
                    servers.Add(new IPEndPoint(address, 53));
                    break;
                case "search":
                    config = config with { Search = [.. words.Skip(1).TakeWhile(w => !w.StartsWith('#') && !w.StartsWith(';'))] };
                    break;
                case "domain":
                    config = config with { Search = [words[1]] };
                    break;
                case "options":
                    foreach (var option in words.Skip(1))
                    {
                        config = WithOption(config, option);
                    }

                    break;
            }
        }

        return servers.Count > 0 ? config with { Nameservers = servers } : config;
    }

    private static ResolverConfig WithOption(ResolverConfig config, string option)
    {
        var colon = option.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0 || !int.TryParse(option.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            return config;
        }

        return option[..colon] switch
        {
            "ndots" => config with { Ndots = Math.Min(value, 15) },
            "timeout" => config with { Timeout = TimeSpan.FromSeconds(Math.Clamp(value, 1, 30)) },
            "attempts" => config with { Attempts = Math.Clamp(value, 1, 5) },
            _ => config,
        };
    }
}
