using System.Globalization;
using Doppel.Session.Forwarding;

namespace Doppel.Cli.Commands;

/// <summary>
/// The values of <c>-L</c> and <c>-R</c>, as mirrord's <c>AddrPortMapping</c> and <c>PortOnlyMapping</c>
/// parse them (mirrord/cli/src/config.rs): ports 1–65535 (0 refused), the local port defaulting to
/// the remote one and the other way round; a remote host that is not a dotted IPv4 address is a name
/// the pod resolves. doppel also takes an IPv6 address in brackets (<c>8080:[fd00::1]:80</c>), which
/// mirrord's split on ':' cannot.
/// </summary>
internal static class ForwardSpecs
{
    /// <summary>A parse of one value: the forward, or the problem as the end of a sentence.</summary>
    public delegate bool Parser<T>(string value, out T? forward, out string problem)
        where T : class;

    private const string LocalShape = "it takes [local_port:]remote_host:remote_port, for example 8080:postgres:5432 or redis:6379.";
    private const string ReverseShape = "it takes [remote_port:]local_port, for example 80:3000 or 8080.";

    /// <summary><c>-L [local_port:]remote_host:remote_port</c>.</summary>
    public static bool TryParseLocal(string value, out LocalForward? forward, out string problem)
    {
        forward = null;
        string? local;
        string host;
        string remote;
        var open = value.IndexOf('[', StringComparison.Ordinal);
        if (open >= 0)
        {
            // [v6]:port or local:[v6]:port
            var close = value.IndexOf(']', open + 1);
            var prefix = value[..open];
            if (close < 0 || !value[(close + 1)..].StartsWith(':') || (prefix.Length > 0 && !prefix.EndsWith(':')) || prefix.Count(c => c == ':') > 1)
            {
                problem = LocalShape;
                return false;
            }

            local = prefix.Length > 0 ? prefix[..^1] : null;
            host = value[(open + 1)..close];
            remote = value[(close + 2)..];
            if (!System.Net.IPAddress.TryParse(host, out var v6) || v6.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
            {
                problem = $"'{host}' in brackets is not an IPv6 address.";
                return false;
            }
        }
        else
        {
            var parts = value.Split(':');
            (local, host, remote) = parts switch
            {
                [var h, var r] => ((string?)null, h, r),
                [var l, var h, var r] => (l, h, r),
                _ => (null, string.Empty, string.Empty),
            };
            if (parts.Length is not (2 or 3))
            {
                problem = LocalShape;
                return false;
            }
        }

        if (host.Length == 0)
        {
            problem = "the remote host is empty; " + LocalShape;
            return false;
        }

        if (!TryPort(remote, out var remotePort, out problem) || (local is not null && !TryPort(local, out _, out problem)))
        {
            return false;
        }

        var localPort = local is null ? remotePort : int.Parse(local, CultureInfo.InvariantCulture);
        forward = new LocalForward(localPort, host, remotePort);
        return true;
    }

    /// <summary><c>-R [remote_port:]local_port</c>.</summary>
    public static bool TryParseReverse(string value, out ReverseForward? forward, out string problem)
    {
        forward = null;
        var parts = value.Split(':');
        if (parts.Length is not (1 or 2))
        {
            problem = ReverseShape;
            return false;
        }

        if (!TryPort(parts[^1], out var localPort, out problem) || (parts.Length == 2 && !TryPort(parts[0], out _, out problem)))
        {
            return false;
        }

        forward = new ReverseForward(parts.Length == 2 ? int.Parse(parts[0], CultureInfo.InvariantCulture) : localPort, localPort);
        return true;
    }

    private static bool TryPort(string text, out int port, out string problem)
    {
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is >= 1 and <= 65535)
        {
            problem = string.Empty;
            return true;
        }

        problem = $"'{Config.Targets.TargetParser.Shown(text)}' is not a port (1–65535).";
        return false;
    }
}
